"""``souverain drill exit`` for real: the embedded model, a real ``llama_cpp.server`` on loopback
and a fake OpenAI-compatible upstream without tool support — each verdict, the exit codes, the
ledger rows, and captured traffic replayed without the values its data actions replaced."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from sqlalchemy import update
from typer.testing import CliRunner

from souverain.capture import CaptureStore, prepare_capture
from souverain.config import parse_config
from souverain.detect import Scanner
from souverain.ledger import Ledger, LedgerRecord
from souverain.ledger.record import utcnow
from souverain.ledger.schema import captures
from tests.e2e.test_openai_backend import llama_server  # noqa: F401 - module fixture
from tests.support.configs import embedded
from tests.support.upstream import Upstream

pytestmark = pytest.mark.slow
EMAIL = "jeanne.martin@exemple.fr"
# classify accepts any quality drop: the same weights behind llama_cpp.server (its own "gemma"
# chat format) run on past the label ("invoiceczną ..."), which the label scorer counts wrong
GENEROUS = {
    "max_quality_drop": 1.0,
    "max_latency_increase": 50,
    "max_cost_increase": 100,
    "max_energy_increase": 100,
}


@pytest.fixture(scope="module")
def fake() -> Iterator[Upstream]:
    # answers "complaint" to everything and refuses tools
    with Upstream(reply="complaint", supports_tools=False) as up:
        yield up


def config(llama: str, fake: Upstream) -> dict[str, Any]:
    allow = {"personal_data": "allow"}
    return {
        "backends": [
            embedded("local"),
            {
                "name": "llama-server",
                "type": "openai",
                "base_url": llama,
                "model": "gemma-remote",
                "self_hosted": False,
                "operator": "Loopback Cloud",
                "operator_jurisdiction": "DE",
                "location": "DE",
                "open_weights": True,
                "timeouts": {"connect": 2, "first_byte": 60, "total": 120},
            },
            {
                "name": "fake",
                "type": "openai",
                "base_url": fake.base_url,
                "model": "up-model",
                "self_hosted": False,
                "operator": "Example Inc.",
                "operator_jurisdiction": "US",
                "location": "IE",
                "open_weights": False,
                "capabilities": {"tools": False},
            },
        ],
        "use_cases": [
            {
                "name": "classify",
                "backends": ["local", "llama-server"],
                "suite": "doc-classify",
                "policy": allow,
                "exit": GENEROUS,
            },
            {
                "name": "triage",
                "backends": ["local", "fake"],
                "suite": "doc-classify",
                "policy": {"personal_data": "pseudonymize"},
                "capture": {"enabled": True, "allow_sensitive": True, "retention_days": 30},
            },
            # not "local": the embedded model offers tools too (issue #13 item 1), and this use
            # case stands for one that only the tool-capable llama-server can serve
            {"name": "agent", "backends": ["llama-server", "fake"], "policy": allow},
        ],
    }


@pytest.fixture
def setup(llama_server: str, fake: Upstream, tmp_path: Path) -> Path:  # noqa: F811
    cfg = config(llama_server, fake)
    path = tmp_path / "souverain.yaml"
    path.write_text(yaml.safe_dump(cfg))
    parsed = parse_config(cfg)
    with Ledger.open(None) as ledger:  # the default ledger (isolated data dir)
        # the agent's clients use tools: only llama-server offers them
        ledger.write(
            LedgerRecord(
                request_id="r-agent",
                use_case="agent",
                backend="llama-server",
                used_tools=True,
                stream=True,
                prompt_tokens=120,
            )
        )
        store = CaptureStore(ledger)
        triage = parsed.use_case("triage")
        msgs = [{"role": "user", "content": f"Document:\nFacture n° 12, client {EMAIL}, 120 EUR."}]
        scanner = Scanner()
        live = prepare_capture(
            triage,
            msgs,
            scanner,
            request_id="c1",
            backend="local",
            answer="invoice",
            params={"max_tokens": 8, "temperature": 0},
        )
        old = prepare_capture(
            triage,
            msgs,
            scanner,
            request_id="c0",
            backend="local",
            answer="invoice",
            params={"max_tokens": 8},
        )
        assert live and old and store.add_sync(live) and store.add_sync(old)
        with ledger.engine.begin() as conn:  # c0 is past its retention now
            conn.execute(
                update(captures)
                .where(captures.c.request_id == "c0")
                .values(expires_at=utcnow() - timedelta(days=1))
            )
    return path


def drill(*args: str) -> tuple[int, str]:
    from souverain.cli.drill import drill_app

    app = typer.Typer()
    app.add_typer(drill_app, name="drill")
    res = CliRunner().invoke(app, ["drill", "exit", *args])
    return res.exit_code, res.output


def test_ready_degraded_and_unaffected_with_replay(
    setup: Path, tmp_path: Path, fake: Upstream
) -> None:
    out = tmp_path / "out"
    code, output = drill(
        "--without-backend",
        "local",
        "--limit",
        "2",
        "--allow-degraded",
        "-c",
        str(setup),
        "-o",
        str(out),
    )
    assert code == 0, output
    report = json.loads((out / "drill.json").read_text())
    results = {r["use_case"]: r for r in report["use_cases"]}
    assert report["verdicts"] == {"classify": "ready", "triage": "degraded", "agent": "ready"}

    # classify: the same model behind llama_cpp.server, measured on both sides
    classify = results["classify"]
    assert classify["basis"] == "replay"
    assert classify["served_by"] == {"current": {"local": 2}, "exit": {"llama-server": 2}}
    checks = {c["metric"]: c for c in classify["checks"]}
    assert checks["quality:suite"]["ok"] and checks["quality:suite"]["change"] is not None
    assert checks["latency_p50_s"]["current"] > 0 and checks["latency_p50_s"]["exit"] > 0
    assert [q["side"] for q in classify["requests"]] == ["current", "exit"] * 2

    # triage: an upstream that answers "complaint" to an invoice and a contract: which tolerance,
    # by how much (the embedded model labels both right)
    triage = results["triage"]
    assert triage["basis"] == "replay"
    assert "quality:suite dropped by 1.00 (tolerance 0.05)" in triage["reasons"], triage["reasons"]
    assert triage["workload"]["captured_items"] == 1  # the expired capture is not replayed
    assert "quality:capture" in {c["metric"] for c in triage["checks"]}

    # agent: served by llama-server, which was not removed
    assert results["agent"]["basis"] == "unaffected"

    # the replayed capture reached the upstream with its placeholder, never the value
    sent = fake.all_bytes()
    assert b"<EMAIL_1>" in sent and EMAIL.encode() not in sent
    assert EMAIL not in (out / "drill.json").read_text() + (out / "drill.md").read_text()

    md = (out / "drill.md").read_text()
    assert "## triage: degraded (replayed)" in md and "Outside tolerance" in md
    assert "operator Loopback Cloud (DE law), runs in DE" in md

    with Ledger.open(None) as ledger:
        drills = list(ledger.rows(kind="drill"))
        own = [r for r in drills if r["operation"] == "drill.exit"]
        assert len(own) == 1 and json.loads(own[0]["reason"])["verdicts"] == report["verdicts"]
        replayed = [r for r in drills if r["operation"] != "drill.exit"]
        # (2 suite items + classify 0 / triage 1 captured) x 2 sides
        assert len(replayed) == 2 * 2 + 3 * 2
        assert {r["use_case"] for r in replayed} == {"classify", "triage"}
        assert [r["request_id"] for r in ledger.rows(kind="request")] == ["r-agent"]
        assert ledger.verify().ok
        store = CaptureStore(ledger)
        assert store.purge() == 1 and store.count("triage") == 1  # retention purge


def test_degraded_fails_without_allow_degraded(setup: Path, tmp_path: Path) -> None:
    code, _ = drill(
        "--without-backend",
        "local",
        "-u",
        "triage",
        "--limit",
        "1",
        "-c",
        str(setup),
        "-o",
        str(tmp_path / "o"),
    )
    assert code == 1
    data = json.loads((tmp_path / "o" / "drill.json").read_text())
    assert data["verdicts"] == {"triage": "degraded"}


def test_no_exit_when_the_remaining_backends_lack_tools(setup: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    code, _ = drill(
        "--without-operator", "loopback cloud", "--allow-degraded", "-c", str(setup), "-o", str(out)
    )
    assert code == 1  # --allow-degraded never accepts no-exit
    data = json.loads((out / "drill.json").read_text())
    assert data["verdicts"] == {"classify": "ready", "triage": "ready", "agent": "no-exit"}
    agent = next(r for r in data["use_cases"] if r["use_case"] == "agent")
    assert "does not support tools" in agent["reasons"][0]
    assert {"capability": "tools", "used": True, "offered": False} in agent["capabilities"]
    # the plan reaches the same verdicts without replaying anything
    code, _ = drill(
        "--plan",
        "--without-operator",
        "loopback cloud",
        "-c",
        str(setup),
        "-o",
        str(tmp_path / "p"),
    )
    assert code == 1
    code, _ = drill(
        "--plan", "--without-backend", "local", "-c", str(setup), "-o", str(tmp_path / "q")
    )
    assert code == 0
    with Ledger.open(None) as ledger:
        assert len(list(ledger.rows(kind="drill"))) == 3  # one row per drill, nothing replayed
