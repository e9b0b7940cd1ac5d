"""`souverain serve --workers 2`: both workers answer, and /metrics aggregates every worker."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import gateway_process
from tests.support.configs import openai_upstream
from tests.support.upstream import Upstream

pytestmark = pytest.mark.slow


def test_two_workers_share_metrics(tmp_path: Path) -> None:
    with Upstream(reply="ok") as up:
        cfg = tmp_path / "gw.yaml"
        cfg.write_text(
            yaml.safe_dump(
                {
                    "backends": [openai_upstream("up", up.base_url)],
                    "use_cases": [{"name": "u", "backends": ["up"]}],
                    "ledger": {"url": f"sqlite:///{tmp_path / 'ledger.db'}"},
                }
            )
        )
        env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
        (tmp_path / "metrics").mkdir()
        with (
            gateway_process(cfg, env=env, extra_args=["--workers", "2"]) as base,
            httpx.Client(base_url=base, timeout=30) as c,
        ):
            for _ in range(20):
                # a new connection each time, so both workers get some
                r = httpx.post(
                    base + "/v1/chat/completions",
                    json={"model": "u", "messages": [{"role": "user", "content": "hi"}]},
                )
                assert r.status_code == 200
            text = c.get("/metrics").text
    found = re.search(
        r'souverain_requests_total\{backend="up",decision="served",use_case="u"\} ([0-9.]+)', text
    )
    assert found and float(found.group(1)) == 20.0
    pids = {p.name.split("_")[-1] for p in (tmp_path / "metrics").glob("*.db")}
    assert len(pids) >= 2, "only one worker process wrote metrics"
