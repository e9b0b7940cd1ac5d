"""Energy per request: measured where the machine lets us, estimated (with bounds) where not.

Methods (the ``energy_method`` label), the first available is used by :class:`Meter`:

``measured:nvml``
    GPU energy counters (``nvmlDeviceGetTotalEnergyConsumption``, mJ, summed over GPUs). GPU
    energy only; bounds ±5 % (NVML's stated power accuracy).
``measured:rapl``
    CPU package (and DRAM) counters, ``/sys/class/powercap/intel-rapl:*/energy_uj``, when
    readable (often root-only). Bounds ±10 %.
``estimated:cpu-time``
    ``E = cpu_s × W_core + busy_share_s × W_mem`` -- the process's CPU time × watts per busy core
    (``site.cpu_watts_per_core``, default 5 W: between an Intel Xeon Platinum 8480+, 350 W TDP /
    56 cores = 6.25 W, and an AMD EPYC 9654, 360 W / 96 cores = 3.75 W; bounds ×0.5 and ×1.5,
    since TDP is not actual draw), plus memory (``site.memory_watts``, default 3 W ≈ 8 GB ×
    0.375 W/GB, the Cloud Carbon Footprint coefficient) over the request's share of busy time
    (bounds ×0.5, ×1.5).
``estimated:parameters``
    Remote APIs, from the backend's declared size: ``E = 2 × N_active × tokens × e`` (forward
    pass ≈ 2 FLOPs per active parameter per token, prompt and completion) with ``e`` = 5e-12
    J/FLOP (low 2e-12, high 1.1e-11): an H100 SXM does 989 TFLOP/s dense BF16 at 700 W (7.1e-13
    J/FLOP at full use), × 1.5 for the rest of the server, at 10-50 % utilisation in inference
    (Epoch AI, "How much energy does ChatGPT use?", 2025, assumes ~10 %). PUE 1.2 by default
    (large cloud data centres) unless the caller gives one.
``unknown``
    Nothing to go on.

All measured and CPU-time figures are multiplied by the site's PUE.

Concurrent requests on one machine: counters are machine- (or process-) wide, so the
:class:`Meter` apportions them. At every start and stop it reads the counter and splits the
increase since the previous event equally among the requests in flight during that interval
(and likewise the elapsed time, giving each request its ``busy_share_s``). A request alone gets
all of it; two overlapping requests share the overlap half and half.
"""

from __future__ import annotations

import glob
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

DEFAULT_CPU_WATTS_PER_CORE = 5.0
DEFAULT_MEMORY_WATTS = 3.0
DEFAULT_PUE = 1.2
#: Joules per FLOP for remote inference: (low, central, high); see the module docstring.
JOULES_PER_FLOP = (2e-12, 5e-12, 1.1e-11)
_POWERCAP = "/sys/class/powercap"


@dataclass(frozen=True, slots=True)
class EnergyReading:
    wh: float | None
    wh_low: float | None
    wh_high: float | None
    method: str
    #: The request's share of the machine's busy time (seconds): duration / concurrency.
    busy_share_s: float = 0.0

    @classmethod
    def unknown(cls) -> EnergyReading:
        return cls(None, None, None, "unknown")


class EnergySource(Protocol):
    method: str

    def read(self) -> float:
        """A cumulative counter: joules (measured) or CPU seconds (``estimated:cpu-time``)."""
        ...


class NvmlSource:
    method = "measured:nvml"

    def __init__(self, nvml: Any, handles: list[Any]) -> None:
        self._nvml, self._handles = nvml, handles

    @classmethod
    def open(cls) -> NvmlSource | None:
        try:
            import pynvml

            pynvml.nvmlInit()
            count = pynvml.nvmlDeviceGetCount()
            handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            for h in handles:  # raises NotSupported on GPUs without the counter
                pynvml.nvmlDeviceGetTotalEnergyConsumption(h)
        except Exception:
            return None
        return cls(pynvml, handles) if handles else None

    def read(self) -> float:
        total_mj = sum(self._nvml.nvmlDeviceGetTotalEnergyConsumption(h) for h in self._handles)
        return total_mj / 1000.0


class RaplSource:
    """Top-level packages and their ``dram`` subzones (the core/uncore subzones are inside the
    package figure). Counter wrap-around is handled with ``max_energy_range_uj``."""

    method = "measured:rapl"

    def __init__(self, zones: list[Path]) -> None:
        self._zones = zones
        self._max = [float((z / "max_energy_range_uj").read_text()) for z in zones]
        self._last = [self._raw(z) for z in zones]
        self._total = 0.0
        self._lock = threading.Lock()

    @staticmethod
    def _raw(zone: Path) -> float:
        return float((zone / "energy_uj").read_text())

    @classmethod
    def open(cls, root: str = _POWERCAP) -> RaplSource | None:
        zones = [
            Path(p) for p in sorted(glob.glob(f"{root}/intel-rapl:[0-9]*")) if p.count(":") == 1
        ]
        for pkg in list(zones):
            zones += [
                Path(p)
                for p in sorted(glob.glob(f"{pkg}/intel-rapl:*"))
                if Path(p, "name").exists() and Path(p, "name").read_text().strip() == "dram"
            ]
        try:
            return cls(zones) if zones else None
        except (OSError, ValueError):
            return None

    def read(self) -> float:
        with self._lock:
            for i, zone in enumerate(self._zones):
                now = self._raw(zone)
                delta = now - self._last[i]
                self._total += delta if delta >= 0 else delta + self._max[i]
                self._last[i] = now
            return self._total / 1e6


class CpuTimeSource:
    method = "estimated:cpu-time"

    def read(self) -> float:
        return time.process_time()


def detect_source() -> EnergySource:
    """The best source this machine offers: NVML, then RAPL, then CPU time."""
    return NvmlSource.open() or RaplSource.open() or CpuTimeSource()


@dataclass(slots=True)
class Measurement:
    """One request's running share of the counter and of busy time (see :class:`Meter`)."""

    units: float = 0.0
    busy_s: float = 0.0
    done: bool = field(default=False)


class Meter:
    """Start a measurement before a generation, stop it after, get an :class:`EnergyReading`."""

    def __init__(
        self,
        site: Any = None,
        source: EnergySource | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        self.source = source if source is not None else detect_source()
        self.method = self.source.method
        self.pue = float(getattr(site, "pue", None) or 1.0)
        self.cpu_watts = float(
            getattr(site, "cpu_watts_per_core", None) or DEFAULT_CPU_WATTS_PER_CORE
        )
        memory: float | None = getattr(site, "memory_watts", None)
        self.memory_watts = float(memory) if memory is not None else DEFAULT_MEMORY_WATTS
        self._clock = clock
        self._lock = threading.Lock()
        self._active: list[Measurement] = []
        self._last_units = 0.0
        self._last_t = 0.0

    def _advance(self) -> None:
        units, t = self.source.read(), self._clock()
        if self._active:
            share = 1.0 / len(self._active)
            du, dt = (units - self._last_units) * share, (t - self._last_t) * share
            for m in self._active:
                m.units += du
                m.busy_s += dt
        self._last_units, self._last_t = units, t

    def start(self) -> Measurement:
        m = Measurement()
        with self._lock:
            self._advance()
            self._active.append(m)
        return m

    def stop(self, m: Measurement) -> EnergyReading:
        with self._lock:
            if not m.done:
                self._advance()
                self._active.remove(m)
                m.done = True
        return self.reading(m.units, m.busy_s)

    @contextmanager
    def measure(self) -> Iterator[list[EnergyReading]]:
        """``with meter.measure() as out: ...`` -- ``out[0]`` holds the reading afterwards."""
        out: list[EnergyReading] = []
        m = self.start()
        try:
            yield out
        finally:
            out.append(self.stop(m))

    def reading(self, units: float, busy_s: float) -> EnergyReading:
        """Turn a share of the counter into Wh with bounds, per the method (module docstring)."""
        to_wh = self.pue / 3600.0
        if self.method == "estimated:cpu-time":
            cpu_j, mem_j = units * self.cpu_watts, busy_s * self.memory_watts
            wh = (cpu_j + mem_j) * to_wh
            return EnergyReading(wh, wh * 0.5, wh * 1.5, self.method, busy_s)
        spread = 0.05 if self.method == "measured:nvml" else 0.10
        wh = units * to_wh
        return EnergyReading(wh, wh * (1 - spread), wh * (1 + spread), self.method, busy_s)


def estimate_from_parameters(
    total_b: float | None,
    active_b: float | None,
    prompt_tokens: int,
    completion_tokens: int,
    pue: float = DEFAULT_PUE,
) -> EnergyReading:
    """``estimated:parameters`` for a remote API (module docstring); unknown without a size."""
    billions = active_b or total_b
    if not billions:
        return EnergyReading.unknown()
    flops = 2.0 * billions * 1e9 * (prompt_tokens + completion_tokens)
    low, mid, high = (flops * e * pue / 3600.0 for e in JOULES_PER_FLOP)
    return EnergyReading(mid, low, high, "estimated:parameters")
