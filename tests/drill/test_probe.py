"""No drill verdict on a backend nobody asked: every backend a verdict relies on is probed, with a
timeout, and a drill with nothing to replay is ``unverified`` unless ``--plan-only`` is given.

The backends are real HTTP servers on loopback (tests.support.upstream) and a port where nothing
listens; no model is loaded."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from souverain.backends.base import Health
from souverain.config import parse_config
from souverain.drill.needs import ObservedNeeds
from souverain.drill.plan import plan_use_case
from souverain.drill.probe import Probe, probe_backends
from souverain.drill.removal import Removal
from souverain.drill.run import decide_without_replay
from souverain.gateway.runtime import Runtime
from tests.support.configs import openai_upstream
from tests.support.upstream import Upstream, free_port

ROOT = Path(__file__).resolve().parents[2]
LENIENT = {"max_latency_increase": 1000, "max_quality_drop": 1.0}


class _Backend:
    def __init__(self, name: str, behaviour: str):
        self.name, self.behaviour = name, behaviour

    async def health(self) -> Health:
        if self.behaviour == "hang":
            await asyncio.sleep(30)
        if self.behaviour == "raise":
            raise RuntimeError("boom")
        return Health(self.behaviour == "ok", self.behaviour)


async def test_probes_run_at_once_with_a_timeout_and_never_raise() -> None:
    backends = {n: _Backend(n, n) for n in ("ok", "down", "hang", "raise")}
    started = asyncio.get_running_loop().time()
    probes = await probe_backends(backends, ["ok", "down", "hang", "raise", "absent"], 0.3)
    assert asyncio.get_running_loop().time() - started < 2  # concurrent, bounded
    assert probes["ok"].ok and probes["ok"].detail == "ok"
    assert not probes["down"].ok
    assert not probes["hang"].ok and probes["hang"].detail == "no answer within 0.3 s"
    assert not probes["raise"].ok and "RuntimeError: boom" in probes["raise"].detail
    assert "absent" not in probes


def _config(up: str, dead: str, **use_case: Any) -> dict[str, Any]:
    return {
        "backends": [
            openai_upstream("today", up, self_hosted=False, operator="Old Cloud"),
            openai_upstream("spare", up),
            openai_upstream("dead", dead),
        ],
        "use_cases": [
            {"name": "moves", "backends": ["today", "spare"], "suite": "doc-classify",
             "policy": {"personal_data": "allow"}, "exit": LENIENT, **use_case},
            {"name": "stranded", "backends": ["today", "dead"], "suite": "doc-classify",
             "policy": {"personal_data": "allow"}, "exit": LENIENT},
            {"name": "bare", "backends": ["today", "spare"], "policy": {"personal_data": "allow"}},
        ],
    }  # fmt: skip


def test_a_verdict_resting_on_a_down_backend_is_unverified() -> None:
    cfg = parse_config(_config("http://127.0.0.1:9/v1", "http://127.0.0.1:9/v1"))
    runtime = Runtime(cfg)
    stranded = plan_use_case(
        cfg.use_case("stranded"), runtime.backends, Removal(("today",)), ObservedNeeds()
    )
    probes = {
        "today": Probe("today", True, "reachable (HTTP 200)", 0.01),
        "dead": Probe("dead", False, "unreachable (ClientConnectorError)", 0.01),
    }
    res = decide_without_replay(stranded, False, probes)
    assert res and (res.verdict, res.basis) == ("unverified", "probe")
    assert res.reasons == ["exit backend dead is down: unreachable (ClientConnectorError)"]
    assert res.probes["dead"]["ok"] is False
    # unaffected, but the backend that still serves it is down: no "ready" either
    unaffected = plan_use_case(
        cfg.use_case("stranded"), runtime.backends, Removal(("spare",)), ObservedNeeds()
    )
    probes["today"] = Probe("today", False, "reachable, HTTP 500", 0.01)
    res = decide_without_replay(unaffected, False, probes)
    assert res and res.verdict == "unverified"
    assert res.reasons == ["current and exit backend today is down: reachable, HTTP 500"]
    # a dry run contacts nothing and says so
    dry = decide_without_replay(stranded, True)
    assert dry and dry.verdict == "ready" and dry.probes == {}
    assert "dry run: no backend was contacted (not probed)" in dry.notes


@pytest.fixture(scope="module")
def up() -> Iterator[Upstream]:
    with Upstream() as server:
        yield server


def _drill(path: Path, out: Path, *args: str) -> tuple[int, str, dict[str, Any]]:
    from souverain.cli.drill import drill_app

    app = typer.Typer()
    app.add_typer(drill_app, name="drill")
    res = CliRunner().invoke(
        app,
        ["drill", "exit", "--without-backend", "today", "-c", str(path), "-o", str(out), *args],
    )
    data = json.loads((out / "drill.json").read_text()) if (out / "drill.json").exists() else {}
    return res.exit_code, res.output, data


def test_cli_probes_replays_and_refuses_to_pass_what_it_did_not_check(
    up: Upstream, tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    path = tmp_path / "souverain.yaml"
    path.write_text(yaml.safe_dump(_config(up.base_url, dead)))

    code, output, data = _drill(path, tmp_path / "a", "--limit", "1", "--probe-timeout", "3")
    assert code == 1, output
    assert data["verdicts"] == {"moves": "ready", "stranded": "unverified", "bare": "unverified"}
    results = {r["use_case"]: r for r in data["use_cases"]}
    assert results["moves"]["basis"] == "replay"
    assert results["moves"]["served_by"] == {"current": {"today": 1}, "exit": {"spare": 1}}
    assert results["moves"]["probes"]["spare"]["ok"] is True
    stranded = results["stranded"]
    assert stranded["basis"] == "probe" and stranded["probes"]["dead"]["ok"] is False
    assert stranded["reasons"][0].startswith("exit backend dead is down: unreachable")
    assert results["bare"]["basis"] == "plan"
    assert results["bare"]["reasons"][0].startswith(
        "nothing to replay: it has no suite: and does not capture traffic"
    )
    assert "stranded: exit backend dead is down" in " ".join(output.split())
    assert "--plan-only gives a placement-only verdict" in " ".join(output.split())
    md = (tmp_path / "a" / "drill.md").read_text()
    assert "**unverified (a backend is down)**" in md and "dead **down**" in md

    # only the use case whose backends answer, with something to replay: a pass
    code, output, data = _drill(path, tmp_path / "b", "-u", "moves", "--limit", "1")
    assert (code, data["verdicts"]) == (0, {"moves": "ready"}), output
    # nothing to replay fails unless a placement-only verdict is asked for
    code, _, data = _drill(path, tmp_path / "c", "-u", "bare")
    assert (code, data["verdicts"]) == (1, {"bare": "unverified"})
    code, _, data = _drill(path, tmp_path / "d", "-u", "bare", "--plan-only")
    assert (code, data["verdicts"]) == (0, {"bare": "ready"})
    assert data["use_cases"][0]["probes"] == {}


@pytest.mark.slow
def test_the_complete_example_with_nothing_listening_is_not_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's own command: vllm-cluster absent, no Mistral key."""
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    from souverain.cli.drill import drill_app

    app = typer.Typer()
    app.add_typer(drill_app, name="drill")
    out = tmp_path / "o"
    res = CliRunner().invoke(
        app,
        ["drill", "exit", "--without-operator", "Mistral AI", "-c",
         str(ROOT / "examples/souverain.yaml"), "-o", str(out), "--probe-timeout", "2"],
    )  # fmt: skip
    assert res.exit_code == 1, res.output
    data = json.loads((out / "drill.json").read_text())
    assert data["verdicts"]["research"] == "unverified"
    research = next(r for r in data["use_cases"] if r["use_case"] == "research")
    assert research["probes"]["mistral-api"] == {
        "backend": "mistral-api",
        "ok": False,
        "detail": "environment variable MISTRAL_API_KEY is not set",
        "seconds": research["probes"]["mistral-api"]["seconds"],
    }
