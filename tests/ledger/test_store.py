"""Writing and reading rows: one function, every field, write-ahead rows, no prompt text."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from souverain.ledger import Ledger, LedgerError, LedgerRecord, LedgerUnavailable
from souverain.ledger.record import RECORD_FIELDS
from souverain.ledger.schema import ledger as ledger_table
from tests.ledger.helpers import record


def test_roundtrip_every_field(ledger_url: str) -> None:
    rec = record(
        kind="drill",
        requested_model="assistant",
        operation="chat",
        decision="pseudonymized",
        reason="personal_data:pseudonymize",
        data_types={"email": 2, "iban": 1},
        context_tokens=None,
        ttft_ms=12.25,
        cost_method="tokens:price-table",
        energy_wh_low=0.005,
        energy_wh_high=0.02,
        carbon_g=0.0005,
        grid_gco2_per_kwh=56.0,
        stream=True,
        used_tools=True,
        used_json_mode=True,
        error_code=None,
    )
    with Ledger.open(ledger_url) as ledger:
        ledger.write(rec)
        (row,) = list(ledger.rows())
    for name in RECORD_FIELDS:
        expected = getattr(rec, name)
        if name == "context_tokens":
            expected = rec.prompt_tokens  # defaults to the prompt tokens
        assert row[name] == expected, name
    assert row["seq"] == 1 and row["status"] == "completed"
    assert len(row["row_hash"]) == 64 and row["prev_hash"] == "0" * 64


def test_no_text_columns() -> None:
    names = {c.name for c in ledger_table.columns}
    for forbidden in ("prompt", "completion", "messages", "content", "text", "response"):
        assert forbidden not in names
    assert not any(f.name in ("prompt", "messages") for f in dataclasses.fields(LedgerRecord))


def test_write_ahead_row_is_committed_then_completed(ledger_url: str) -> None:
    rec = record(
        self_hosted=False, backend="mistral", operator="Mistral AI", data_types={"email": 1}
    )

    async def scenario(ledger: Ledger) -> None:
        await ledger.begin(rec)
        # Durable before egress: a separate connection (another process would) sees the row.
        with Ledger.open(ledger_url) as other:
            (pending,) = list(other.rows())
        assert pending["status"] == "pending" and pending["seq"] is None
        assert pending["backend"] == "mistral" and pending["data_types"] == {"email": 1}
        done = dataclasses.replace(rec, status="completed", completion_tokens=99)
        await ledger.finish(done)

    with Ledger.open(ledger_url) as ledger:
        asyncio.run(scenario(ledger))
        (row,) = list(ledger.rows())
        assert row["status"] == "completed" and row["seq"] == 1 and row["completion_tokens"] == 99
        assert ledger.verify().ok


def test_refused_and_failed_rows(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        ledger.write(
            record(decision="refused", status="refused", reason="secret:block", http_status=403)
        )
        ledger.write(
            record(
                decision="failed", status="failed", error_code="upstream_timeout", http_status=504
            )
        )
        statuses = [r["status"] for r in ledger.rows()]
        assert statuses == ["refused", "failed"]
        assert ledger.verify().ok


def test_rows_filters(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        recs = [record(), record(kind="bench"), record()]
        for r in recs:
            ledger.write(r)
        assert [r["request_id"] for r in ledger.rows(kind="bench")] == [recs[1].request_id]
        since = [r["request_id"] for r in ledger.rows(since=recs[1].ts)]
        assert since == [recs[1].request_id, recs[2].request_id]
        assert [r["request_id"] for r in ledger.rows(until=recs[1].ts)] == [recs[0].request_id]


def test_invalid_values_rejected(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        with pytest.raises(ValueError, match="decision"):
            ledger.write(record(decision="maybe"))
        with pytest.raises(ValueError, match="energy_method"):
            ledger.write(record(energy_method="guess"))
        with pytest.raises(ValueError, match="data_types"):
            ledger.write(record(data_types={"email": "alice@example.com"}))
        with pytest.raises(ValueError, match="final status"):
            ledger.write(record(status="pending"))


def test_duplicate_request_id_is_an_error_not_a_corruption(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        rec = record()
        ledger.write(rec)
        with pytest.raises(LedgerError) as info:
            ledger.write(rec)
        assert not isinstance(info.value, LedgerUnavailable)
        ledger.write(record())  # the writer recovered
        assert ledger.verify().ok and ledger.verify().rows_checked == 2


def test_non_finite_numbers_are_stored_as_null(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        ledger.write(record(cost_eur=float("nan"), energy_wh=float("inf")))
        (row,) = list(ledger.rows())
        assert row["cost_eur"] is None and row["energy_wh"] is None
        assert ledger.verify().ok
