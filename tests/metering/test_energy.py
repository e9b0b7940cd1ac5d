"""Energy: the method label matches this machine, formulas on hand-computed cases, apportioning."""

from __future__ import annotations

import glob
import os

import pytest

from souverain.config.models import SiteConfig
from souverain.metering.energy import (
    DEFAULT_CPU_WATTS_PER_CORE,
    DEFAULT_MEMORY_WATTS,
    JOULES_PER_FLOP,
    Meter,
    RaplSource,
    estimate_from_parameters,
)


def _nvml_usable() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        for h in handles:
            pynvml.nvmlDeviceGetTotalEnergyConsumption(h)
        return bool(handles)
    except Exception:
        return False


def _rapl_readable() -> bool:
    for path in glob.glob("/sys/class/powercap/intel-rapl:*/energy_uj"):
        try:
            with open(path) as f:
                f.read()
            return True
        except OSError:
            continue
    return False


def test_method_label_matches_this_machine() -> None:
    if _nvml_usable():
        expected = "measured:nvml"
    elif _rapl_readable():
        expected = "measured:rapl"
    else:
        expected = "estimated:cpu-time"
    meter = Meter()
    assert meter.method == expected
    with meter.measure() as out:
        sum(i * i for i in range(200_000))
    (reading,) = out
    assert reading.method == expected
    assert reading.wh is not None and reading.wh > 0
    assert reading.wh_low <= reading.wh <= reading.wh_high  # type: ignore[operator]


class Counter:
    """A fake counter the test moves by hand."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.value = 0.0

    def read(self) -> float:
        return self.value


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_cpu_time_formula_with_pue() -> None:
    src, clock = Counter("estimated:cpu-time"), Clock()
    meter = Meter(SiteConfig(pue=1.5, cpu_watts_per_core=10, memory_watts=2), src, clock)
    m = meter.start()
    src.value, clock.t = 3.0, 4.0  # 3 CPU-seconds over 4 s
    r = meter.stop(m)
    wh = (3.0 * 10 + 4.0 * 2) * 1.5 / 3600
    assert r.wh == pytest.approx(wh) and r.busy_share_s == 4.0
    assert (r.wh_low, r.wh_high) == (pytest.approx(wh * 0.5), pytest.approx(wh * 1.5))


def test_defaults_are_documented_values() -> None:
    meter = Meter(None, Counter("estimated:cpu-time"), Clock())
    assert (meter.cpu_watts, meter.memory_watts, meter.pue) == (
        DEFAULT_CPU_WATTS_PER_CORE,
        DEFAULT_MEMORY_WATTS,
        1.0,
    )


def test_concurrent_requests_share_the_counter() -> None:
    src, clock = Counter("measured:rapl"), Clock()
    meter = Meter(SiteConfig(pue=1.0), src, clock)
    a = meter.start()  # t=0
    src.value, clock.t = 100.0, 1.0  # A alone: 100 J
    b = meter.start()
    src.value, clock.t = 300.0, 3.0  # A and B together: 200 J, half each
    ra = meter.stop(a)
    src.value, clock.t = 350.0, 4.0  # B alone: 50 J
    rb = meter.stop(b)
    assert ra.wh == pytest.approx((100 + 100) / 3600) and ra.busy_share_s == pytest.approx(2.0)
    assert rb.wh == pytest.approx((100 + 50) / 3600) and rb.busy_share_s == pytest.approx(2.0)
    assert ra.wh_low == pytest.approx(ra.wh * 0.9)


def test_parameters_estimate() -> None:
    r = estimate_from_parameters(
        total_b=141, active_b=39, prompt_tokens=1000, completion_tokens=500, pue=1.2
    )
    flops = 2 * 39e9 * 1500
    assert r.method == "estimated:parameters"
    assert r.wh == pytest.approx(flops * JOULES_PER_FLOP[1] * 1.2 / 3600)
    assert r.wh_low == pytest.approx(flops * JOULES_PER_FLOP[0] * 1.2 / 3600)
    assert r.wh_high == pytest.approx(flops * JOULES_PER_FLOP[2] * 1.2 / 3600)
    dense = estimate_from_parameters(
        total_b=7, active_b=None, prompt_tokens=10, completion_tokens=0
    )
    assert dense.wh == pytest.approx(2 * 7e9 * 10 * JOULES_PER_FLOP[1] * 1.2 / 3600)
    assert estimate_from_parameters(None, None, 10, 10).method == "unknown"


def test_rapl_reader_handles_wraparound(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pkg = tmp_path / "intel-rapl:0"
    pkg.mkdir()
    (pkg / "max_energy_range_uj").write_text("1000000")
    (pkg / "energy_uj").write_text("900000")
    dram = pkg / "intel-rapl:0:2"
    dram.mkdir()
    (dram / "name").write_text("dram\n")
    (dram / "max_energy_range_uj").write_text("1000000")
    (dram / "energy_uj").write_text("0")
    src = RaplSource.open(str(tmp_path))
    assert src is not None and src.read() == 0.0
    (pkg / "energy_uj").write_text("100000")  # wrapped: +200000 uJ
    (dram / "energy_uj").write_text("50000")
    assert src.read() == pytest.approx(0.25)
    assert os.path.exists(pkg)
