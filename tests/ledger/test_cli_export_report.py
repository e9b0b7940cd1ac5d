"""The CLI (verify, export, report) over a real ledger, and the export formats."""

from __future__ import annotations

import json

import pytest
import typer
from sqlalchemy import text
from typer.testing import CliRunner

from souverain.cli import ledger as ledger_cli
from souverain.cli.ledger import ledger_app
from souverain.cli.report import report_command
from souverain.ledger import Ledger
from souverain.ledger.export import span_attributes
from tests.ledger.helpers import record

runner = CliRunner()
report_app = typer.Typer()
report_app.command()(report_command)


@pytest.fixture
def filled(ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(ledger_cli, "ledger_url", lambda config: ledger_url)
    with Ledger.open(ledger_url) as ledger:
        ledger.write(record(duration_ms=100.0, cost_eur=0.01))
        ledger.write(
            record(
                duration_ms=300.0,
                use_case="legal",
                data_types={"email": 1},
                self_hosted=False,
                open_weights=False,
                operator="OpenAI",
                operator_jurisdiction="US",
                location="US",
                backend="openai",
                decision="pseudonymized",
                model="gpt-4o",
                requested_model="smart",
            )
        )
        ledger.write(
            record(
                status="refused",
                decision="refused",
                reason="secret:block",
                duration_ms=1.0,
                prompt_tokens=5,
                completion_tokens=0,
            )
        )
        ledger.write(record(kind="bench", duration_ms=5000.0))
    return ledger_url


def test_verify_ok_then_fails_naming_the_row(filled: str) -> None:
    result = runner.invoke(ledger_app, ["verify"])
    assert result.exit_code == 0 and "ok: 4 sealed rows" in result.stdout
    with Ledger.open(filled) as ledger, ledger.engine.begin() as conn:
        conn.execute(text("UPDATE ledger SET api_key_name = 'x' WHERE seq = 2"))
    result = runner.invoke(ledger_app, ["verify"])
    assert result.exit_code == 1
    assert "edited: seq 2" in result.stderr


def test_export_jsonl(filled: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "rows.jsonl"
    result = runner.invoke(
        ledger_app, ["export", "--format", "jsonl", "--out", str(out), "--kind", "request"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["seq"] for r in rows] == [1, 2, 3]
    assert rows[1]["data_types"] == {"email": 1} and rows[0]["ts"].endswith("Z")


def test_export_otel(filled: str) -> None:
    result = runner.invoke(ledger_app, ["export", "--format", "otel"])
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    spans = json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert len(spans) == 4
    attrs = {a["key"]: a["value"] for a in spans[1]["attributes"]}
    assert attrs["gen_ai.request.model"] == {"stringValue": "smart"}
    assert attrs["gen_ai.response.model"] == {"stringValue": "gpt-4o"}
    assert attrs["gen_ai.usage.input_tokens"] == {"intValue": "12"}
    assert attrs["gen_ai.usage.output_tokens"] == {"intValue": "30"}
    assert attrs["gen_ai.operation.name"] == {"stringValue": "chat"}
    assert attrs["gen_ai.provider.name"] == attrs["gen_ai.system"] == {"stringValue": "OpenAI"}
    assert attrs["souverain.data_types.email"] == {"intValue": "1"}
    assert attrs["souverain.self_hosted"] == {"boolValue": False}
    assert int(spans[1]["endTimeUnixNano"]) - int(spans[1]["startTimeUnixNano"]) == 300_000_000


def test_span_attributes_leave_out_nulls() -> None:
    attrs = span_attributes({"request_id": "r", "model": None, "prompt_tokens": None})
    assert "gen_ai.response.model" not in attrs and attrs["souverain.request_id"] == "r"


def test_report_json_by_use_case(filled: str) -> None:
    result = runner.invoke(report_app, ["--format", "json", "--by", "use-case"])
    assert result.exit_code == 0, result.output
    by = {s["group"]: s for s in json.loads(result.stdout)}
    assert set(by) == {"legal", "support", "total"}  # the bench row is left out
    total = by["total"]
    assert total["requests"] == 3 and total["refused"] == 1
    assert total["refusals_by_reason"] == {"secret:block": 1}
    assert total["share_self_hosted"] == 0.5 and total["share_eu_jurisdiction"] == 0.5
    assert total["personal_data_left"] == 1
    assert total["latency_p50_ms"] == 100.0 and total["latency_p95_ms"] == 300.0
    assert total["energy_methods"] == {"estimated:cpu-time": 1.0}


def test_report_include_bench_table_csv_chart(filled: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(report_app, ["--format", "json", "--include-bench"])
    assert json.loads(result.stdout)[0]["requests"] == 4
    chart = tmp_path / "r.png"
    result = runner.invoke(report_app, ["--by", "day", "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    assert "souverain report" in result.stdout and chart.stat().st_size > 1000
    result = runner.invoke(report_app, ["--format", "csv", "--by", "backend"])
    assert result.exit_code == 0 and result.stdout.startswith("group,requests")


def test_default_ledger_from_builtin_config(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SOUVERAIN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SOUVERAIN_CONFIG", raising=False)
    with Ledger.open(ledger_cli.ledger_url(None)) as ledger:
        ledger.write(record())
    assert (tmp_path / "ledger.db").exists()
    result = runner.invoke(ledger_app, ["verify"])
    assert result.exit_code == 0 and "ok: 1 sealed rows" in result.stdout


def test_report_by_hour_groups_utc_hours(ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    monkeypatch.setattr(ledger_cli, "ledger_url", lambda config: ledger_url)
    with Ledger.open(ledger_url) as ledger:
        for hour, minute in ((9, 5), (9, 55), (11, 0)):
            ledger.write(record(ts=datetime(2026, 3, 2, hour, minute, tzinfo=UTC)))
    result = runner.invoke(report_app, ["--format", "json", "--by", "hour"])
    assert result.exit_code == 0, result.output
    by = {s["group"]: s["requests"] for s in json.loads(result.stdout)}
    assert by == {"2026-03-02T09": 2, "2026-03-02T11": 1, "total": 3}


def test_a_responses_row_is_a_chat_span() -> None:
    """OTel GenAI has no 'responses' operation: a Responses API row is a chat span, and the
    gateway's own operation name is kept beside it."""
    row = {"request_id": "r", "operation": "responses", "model": "m"}
    attrs = span_attributes(row)
    assert attrs["gen_ai.operation.name"] == "chat" and attrs["souverain.operation"] == "responses"
    assert span_attributes({**row, "operation": "embeddings"})["gen_ai.operation.name"] == (
        "embeddings"
    )
