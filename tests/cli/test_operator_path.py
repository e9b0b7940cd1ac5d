"""The operator's path (issue #16 items 2, 4, 6): serve refuses a model it cannot load and says
what it uses; check-config flags a capture that never captures and a default keep-local no
candidate can honour; report shows refusals by reason and failures, stacked at 80 columns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from souverain.cli.main import app
from souverain.ledger import Ledger
from souverain.metering.cost import format_eur
from tests.ledger.helpers import record

runner = CliRunner()
LOCAL = """  - {name: local, type: llamacpp, model: MODEL, self_hosted: true, operator: ACME IT,
     operator_jurisdiction: FR, location: FR, open_weights: true}
"""
REMOTE = """  - {name: remote, type: openai, base_url: "http://127.0.0.1:9/v1", model: m,
     self_hosted: false, operator: X, operator_jurisdiction: FR, location: FR,
     open_weights: false}
"""


def _serve(config: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "souverain", "serve", "--config", str(config), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "SOUVERAIN_DATA_DIR": str(tmp_path / "data")},
    )


def test_serve_refuses_a_missing_gguf_before_binding(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    missing = tmp_path / "nope.gguf"
    config.write_text(
        "backends:\n"
        + LOCAL.replace("MODEL", str(missing))
        + "use_cases: [{name: default, backends: [local]}]\n"
    )
    done = _serve(config, tmp_path)
    assert done.returncode == 4, done.stderr
    assert "backends[0].model" in done.stderr and str(missing) in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_serve_exits_4_on_a_corrupt_gguf_and_says_what_it_uses(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x00" * 64)  # the magic, then nothing a loader can read
    config = tmp_path / "c.yaml"
    config.write_text(
        "backends:\n"
        + LOCAL.replace("MODEL", str(broken))
        + "use_cases: [{name: default, backends: [local]}]\n"
    )
    done = _serve(config, tmp_path)
    assert done.returncode == 4, done.stderr
    err = done.stderr
    assert f"souverain: config: {config}" in err
    assert "souverain: ledger: sqlite:///" in err and "ledger.db" in err
    assert f"souverain: loading local: {broken}" in err
    assert "error: backend local: the model cannot be loaded" in err
    assert "Traceback" not in err


def test_check_config_flags_capture_that_never_captures_and_default_keep_local(
    tmp_path: Path,
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "backends:\n"
        + LOCAL.replace("MODEL", "embedded")
        + REMOTE
        + """use_cases:
  - {name: drilled, backends: [local], capture: {enabled: true}}
  - {name: remote-only, backends: [remote], policy: {secrets: block}}
"""
    )
    result = runner.invoke(app, ["check-config", str(config)], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    assert "use_cases[0].capture.allow_sensitive" in result.output
    assert "nothing will ever be captured" in result.output
    assert "use_cases[1].policy.personal_data" in result.output
    assert "use_cases[1].policy.confidential" in result.output
    # fixed as the messages say: exit 0
    config.write_text(
        "backends:\n"
        + LOCAL.replace("MODEL", "embedded")
        + REMOTE
        + """use_cases:
  - {name: drilled, backends: [local], capture: {enabled: true, allow_sensitive: true}}
  - name: remote-only
    backends: [remote]
    policy: {personal_data: pseudonymize, confidential: block, media: block}
"""
    )
    result = runner.invoke(app, ["check-config", str(config)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output


def _ledger_config(tmp_path: Path) -> Path:
    url = str(tmp_path / "ledger.db")
    with Ledger.open(url) as ledger:
        ledger.write(record(cost_eur=0.0000088))
        ledger.write(record(status="refused", error_code="no_compliant_backend", cost_eur=None))
        ledger.write(record(status="refused", error_code="no_compliant_backend", cost_eur=None))
        ledger.write(record(status="refused", error_code="budget_exceeded", cost_eur=None))
        ledger.write(record(status="failed", error_code="backend_timeout", cost_eur=None))
    config = tmp_path / "c.yaml"
    config.write_text(
        f'ledger: {{url: "{url}"}}\nbackends:\n'
        + LOCAL.replace("MODEL", "embedded")
        + "use_cases: [{name: default, backends: [local]}]\n"
    )
    return config


def test_report_shows_refusals_by_reason_and_failures(tmp_path: Path) -> None:
    config = _ledger_config(tmp_path)
    (summary,) = json.loads(runner.invoke(app, ["report", "-c", str(config), "-f", "json"]).output)
    assert summary["refused"] == 3 and summary["failed"] == 1
    assert summary["refusals_by_reason"] == {"no_compliant_backend": 2, "budget_exceeded": 1}
    wide = runner.invoke(app, ["report", "-c", str(config)], env={"COLUMNS": "250"})
    assert wide.exit_code == 0, wide.output
    assert "refused (by reason)" in wide.output and "failed" in wide.output
    assert "no_compliant_backend 2" in wide.output and "budget_exceeded 1" in wide.output


def test_report_stacks_at_80_columns_without_truncating(tmp_path: Path) -> None:
    config = _ledger_config(tmp_path)
    narrow = runner.invoke(app, ["report", "-c", str(config), "--by", "key"], env={"COLUMNS": "80"})
    assert narrow.exit_code == 0, narrow.output
    lines = narrow.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in narrow.output
    for figure in ("requests", "refused (by reason)", "failed", "cost EUR", "self-hosted"):
        assert any(figure in line for line in lines), figure
    assert "souverain report · total" in narrow.output
    assert "no_compliant_backend 2" in narrow.output


def test_budget_amounts_are_readable() -> None:
    assert format_eur(0.0000088) == "8.80 µEUR"
    assert format_eur(0.00123) == "1.23 mEUR"
    assert format_eur(0.5) == "0.500 EUR"
    assert format_eur(0) == "0 EUR"


def test_check_config_tables_whole_at_80_columns(tmp_path: Path) -> None:
    # a checkout as deep as CI's clone: the verdict is one message the terminal soft-wraps (the
    # path stays whole, to be copied); the tables below it fit the 80 columns
    deep = tmp_path / "builds" / "souverain-main-checkout" / "examples"
    deep.mkdir(parents=True)
    source = Path(__file__).resolve().parents[2] / "examples" / "souverain.yaml"
    example = str(deep / "souverain.yaml")
    Path(example).write_text(source.read_text())
    narrow = runner.invoke(app, ["check-config", example], env={"COLUMNS": "80"})
    verdict, tables = narrow.output.split("API keys:")[0].split("\n", 1)
    assert verdict.startswith(f"✗ {example} is valid"), verdict
    assert max(len(line) for line in tables.splitlines()) <= 80, tables
    assert "…" not in tables
    for name in ("gemma-3-270m", "vllm-cluster", "mistral-api", "ACME Bank IT", "open weights"):
        assert name in tables, name
    assert (
        "Use cases · research" in tables and "mistralai/Mistral-Small-24B-Instruct-2501" in tables
    )
    wide = runner.invoke(app, ["check-config", example], env={"COLUMNS": "200"})
    assert "Backends ·" not in wide.output  # wide enough: one row per backend
    assert "mistralai/Mistral-Small-24B-Instruct-2501" in wide.output
