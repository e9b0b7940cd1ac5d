"""Exit drill logic without any model: removal, needs from the ledger, placement plan, comparison,
verdicts, the drill's ledger row and the CLI's usage errors and --plan exit codes."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from souverain.backends.base import BackendMetadata
from souverain.config import parse_config
from souverain.config.models import ExitTolerances
from souverain.drill.compare import compare, relative_increase, similarity
from souverain.drill.needs import ObservedNeeds, needs_from_rows, observed_needs
from souverain.drill.plan import plan_use_case
from souverain.drill.removal import Removal
from souverain.drill.run import decide_from_replay, decide_without_replay, drill_record, run_drill
from souverain.gateway.runtime import Runtime
from souverain.ledger import Ledger, LedgerRecord
from tests.support.configs import embedded

ROOT = Path(__file__).resolve().parents[2]


def meta(
    name: str = "b", operator: str = "Mistral AI", jurisdiction: str = "FR"
) -> BackendMetadata:
    return BackendMetadata(name, "openai", False, operator, jurisdiction, "FR", False, "m")


def test_removal_matches_name_operator_case_insensitively_and_jurisdiction_groups() -> None:
    assert Removal(backends=("b",))(meta()) == "removed: backend 'b'"
    assert Removal(backends=("c",))(meta()) is None
    assert Removal(operators=("mistral ai",))(meta()) == "removed: operator 'Mistral AI'"
    assert Removal(jurisdictions=("fr",))(meta()) == "removed: operator jurisdiction FR"
    assert Removal(jurisdictions=("EU",))(meta(jurisdiction="DE")) == (
        "removed: operator jurisdiction DE (EU)"
    )
    assert Removal(jurisdictions=("EU",))(meta(jurisdiction="US")) is None
    combined = Removal(backends=("x",), operators=("Other",), jurisdictions=("US",))
    assert combined(meta(jurisdiction="US")) and not combined(meta())
    assert not Removal() and combined
    with pytest.raises(ValueError, match="unknown country code"):
        Removal(jurisdictions=("XX1",))


def test_needs_union_of_completed_request_rows_of_the_use_case() -> None:
    rows: list[dict[str, Any]] = [
        {
            "use_case": "a",
            "kind": "request",
            "status": "completed",
            "stream": True,
            "context_tokens": 90,
        },
        {
            "use_case": "a",
            "kind": "request",
            "status": "completed",
            "used_tools": True,
            "context_tokens": 300,
        },
        {"use_case": "a", "kind": "request", "status": "refused", "used_json_mode": True},
        {"use_case": "a", "kind": "bench", "status": "completed", "used_json_mode": True},
        {"use_case": "b", "kind": "request", "status": "completed", "used_json_mode": True},
    ]
    n = needs_from_rows("a", rows)
    assert (n.requests, n.stream, n.tools, n.json_mode, n.context_tokens) == (
        2,
        True,
        True,
        False,
        300,
    )
    assert observed_needs(None, ["a"])["a"].known is False


CONFIG: dict[str, Any] = {
    "backends": [
        embedded("local"),
        {
            "name": "mistral",
            "type": "openai",
            "base_url": "http://127.0.0.1:9/v1",
            "model": "m",
            "self_hosted": False,
            "operator": "Mistral AI",
            "operator_jurisdiction": "FR",
            "location": "FR",
            "open_weights": False,
        },
        {
            "name": "us",
            "type": "openai",
            "base_url": "http://127.0.0.1:9/v1",
            "model": "u",
            "self_hosted": False,
            "operator": "Example Inc.",
            "operator_jurisdiction": "US",
            "location": "IE",
            "open_weights": False,
            "capabilities": {"tools": False},
        },
    ],
    "use_cases": [
        {"name": "kyc", "backends": ["local"], "policy": {"require_self_hosted": True}},
        {
            "name": "research",
            # not "local": the embedded model offers tools (issue #13 item 1), and this use case
            # stands for one whose exit backends all lack them
            "backends": ["mistral", "us"],
            "policy": {"allowed_jurisdictions": ["EU", "US"], "personal_data": "pseudonymize"},
        },
        {
            "name": "eu-only",
            "backends": ["mistral", "us"],
            "policy": {"allowed_jurisdictions": ["EU"]},
        },
    ],
}


@pytest.fixture
def runtime() -> Runtime:
    return Runtime(parse_config(CONFIG))  # not started: placement reads configuration only


def test_plan_verdicts_without_replay(runtime: Runtime) -> None:
    cfg = runtime.config
    removal = Removal(operators=("mistral ai",))
    # kyc does not use Mistral: unaffected, ready without replay
    kyc = decide_without_replay(
        plan_use_case(cfg.use_case("kyc"), runtime.backends, removal, ObservedNeeds()), False
    )
    assert kyc and (kyc.verdict, kyc.basis) == ("ready", "unaffected")
    # eu-only: us is not allowed by the policy -> nothing remains
    eu = decide_without_replay(
        plan_use_case(cfg.use_case("eu-only"), runtime.backends, removal, ObservedNeeds()), False
    )
    assert eu and eu.verdict == "no-exit" and "no compliant backend remains" in eu.reasons[0]
    assert "not in allowed_jurisdictions" in eu.reasons[0]
    # research moves to us; with tools used, us lacks them -> no backend remains that has them
    research = cfg.use_case("research")
    plan = plan_use_case(research, runtime.backends, removal, ObservedNeeds(1))
    assert plan.current_backend.name == "mistral" and plan.exit_backend.name == "us"
    assert decide_without_replay(plan, False) is None  # must be replayed
    dry = decide_without_replay(plan, True)
    assert dry and (dry.verdict, dry.basis) == ("ready", "plan")
    tools = plan_use_case(research, runtime.backends, removal, ObservedNeeds(3, tools=True))
    res = decide_without_replay(tools, False)
    assert res and res.verdict == "no-exit"
    assert "capability" in res.reasons[0] and "does not support tools" in res.reasons[0]
    assert {"capability": "tools", "used": True, "offered": False} in res.capabilities


def test_context_length_need(runtime: Runtime) -> None:
    plan = plan_use_case(
        runtime.config.use_case("kyc"),
        runtime.backends,
        Removal(backends=("mistral",)),
        ObservedNeeds(1, context_tokens=10_000),
    )
    res = decide_without_replay(plan, False)
    assert res and res.verdict == "no-exit" and "context length 4096" in res.reasons[0]


def rec(side: str, score: float, latency: float, **kw: Any) -> dict[str, Any]:
    return {
        "side": side,
        "workload": "suite",
        "item_id": "i",
        "backend": side,
        "score": score,
        "latency_s": latency,
        "output": "x",
        **kw,
    }


def test_compare_quality_drop_relative_increases_and_unknowns() -> None:
    tol = ExitTolerances(max_quality_drop=0.1, max_latency_increase=1.0)
    records = [
        rec("current", 1.0, 1.0, cost_eur=0.001, energy_wh=0.01),
        rec("current", 1.0, 1.0, cost_eur=0.001, energy_wh=0.01),
        rec("exit", 1.0, 2.5, cost_eur=0.001),
        rec("exit", 0.0, 2.5, cost_eur=0.001),
    ]
    checks = {c.metric: c for c in compare(records, tol)}
    assert checks["quality:suite"].change == pytest.approx(0.5) and not checks["quality:suite"].ok
    assert checks["latency_p50_s"].change == pytest.approx(1.5) and not checks["latency_p50_s"].ok
    assert checks["eur_per_1000_requests"].ok and checks["eur_per_1000_requests"].change == 0
    energy = checks["j_per_request"]
    assert energy.ok and energy.change is None and "not measured on exit" in energy.note
    assert relative_increase(0.0, 1.0) == math.inf and relative_increase(0.0, 0.0) == 0.0


def test_similarity() -> None:
    assert similarity("The invoice is paid.", "the invoice IS paid.") == 1.0
    assert similarity("", None) == 1.0
    assert 0 < similarity("a b c d", "a b x y") < 1


def test_verdict_from_replay(runtime: Runtime) -> None:
    research = runtime.config.use_case("research")
    plan = plan_use_case(
        research, runtime.backends, Removal(backends=("mistral",)), ObservedNeeds()
    )
    ok = decide_from_replay(plan, [rec("current", 1, 1.0), rec("exit", 1, 1.5)], {})
    assert (ok.verdict, ok.basis) == ("ready", "replay")
    slow = decide_from_replay(plan, [rec("current", 1, 1.0), rec("exit", 1, 3.0)], {})
    assert slow.verdict == "degraded"
    assert "latency_p50_s +200% (tolerance +100%)" in slow.reasons
    refused = decide_from_replay(
        plan,
        [
            rec("current", 1, 1.0),
            {
                "side": "exit",
                "workload": "suite",
                "item_id": "i",
                "backend": None,
                "refused": True,
                "error": "no compliant backend",
                "score": 0.0,
            },
        ],
        {},
    )
    assert refused.verdict == "no-exit"
    nothing = decide_from_replay(plan, [], {})
    assert (nothing.verdict, nothing.basis) == ("unverified", "plan")
    assert nothing.reasons[0].startswith("nothing to replay: it has no suite:")


async def test_drill_row_is_a_valid_ledger_record(tmp_path: Path) -> None:
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'l.db'}")
    try:
        ledger.write(
            LedgerRecord(request_id="r1", use_case="research", backend="us", used_tools=True)
        )
        rt = Runtime(parse_config(CONFIG))
        rt.ledger = ledger
        report = await run_drill(
            rt, Removal(backends=("mistral",)), rt.config.use_cases, plan_only=True
        )
        assert report.verdicts() == {"kyc": "ready", "research": "no-exit", "eu-only": "no-exit"}
        rows = list(ledger.rows(kind="drill"))
        assert [r["request_id"] for r in rows] == [report.drill_id]
        body = json.loads(rows[0]["reason"])
        assert body["verdicts"] == report.verdicts() and body["plan_only"] is True
        assert rows[0]["operation"] == "drill.exit" and rows[0]["status"] == "completed"
        assert ledger.verify().ok
    finally:
        ledger.close()
    assert drill_record(report).kind == "drill"


# --- CLI -------------------------------------------------------------------------------------------


def cli() -> typer.Typer:
    from souverain.cli.drill import drill_app

    app = typer.Typer()
    app.add_typer(drill_app, name="drill")
    return app


def test_cli_requires_a_removal_and_known_names() -> None:
    runner = CliRunner()
    res = runner.invoke(cli(), ["drill", "exit", "-c", str(ROOT / "examples/policies.yaml")])
    assert res.exit_code == 2 and "--without-backend" in res.output
    res = runner.invoke(
        cli(),
        ["drill", "exit", "--without-backend", "nope", "-c", str(ROOT / "examples/policies.yaml")],
    )
    assert res.exit_code == 2 and "unknown backend 'nope'" in res.output
    res = runner.invoke(cli(), ["drill", "exit", "--without-jurisdiction", "XX1"])
    assert res.exit_code == 2


def test_cli_plan_exit_codes_on_the_example_policies(tmp_path: Path) -> None:
    runner = CliRunner()
    example = str(ROOT / "examples/policies.yaml")
    res = runner.invoke(
        cli(),
        [
            "drill",
            "exit",
            "--plan",
            "--without-operator",
            "Mistral AI",
            "-c",
            example,
            "-o",
            str(tmp_path / "a"),
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "a" / "drill.json").read_text())
    assert data["verdicts"] == {"kyc": "ready", "research": "ready"}
    assert data["plan_only"] is True
    md = (tmp_path / "a" / "drill.md").read_text()
    assert "Removed: operator 'Mistral AI'" in md and "Configuration hash" in md
    # losing the on-prem backend leaves kyc (self-hosted only) without an exit
    res = runner.invoke(
        cli(),
        [
            "drill",
            "exit",
            "--plan",
            "--without-backend",
            "on-prem-small",
            "-c",
            example,
            "-o",
            str(tmp_path / "b"),
        ],
    )
    assert res.exit_code == 1
    data = json.loads((tmp_path / "b" / "drill.json").read_text())
    assert data["verdicts"]["kyc"] == "no-exit"
    res = runner.invoke(
        cli(),
        [
            "drill",
            "exit",
            "--plan",
            "--allow-degraded",
            "--without-jurisdiction",
            "EU",
            "-c",
            example,
            "-o",
            str(tmp_path / "c"),
        ],
    )
    assert res.exit_code == 1  # --allow-degraded never accepts no-exit
