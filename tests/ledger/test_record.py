"""The writer seals a row with sealed_row_hash (values normalised once, by content()); its
hash must be exactly row_hash's, which verify recomputes from the row read back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from souverain.ledger.record import LedgerRecord, row_hash, sealed_row_hash, utcnow


def _sealed(rec: LedgerRecord) -> dict:
    row = rec.content()
    now = utcnow()
    row.update(writer_id="w-1", created_at=now, sealed_at=now, prev_hash="a" * 64, seq=7)
    return row


@pytest.mark.parametrize(
    "rec",
    [
        LedgerRecord(request_id="r-1"),
        LedgerRecord(
            request_id="r-2",
            ts=datetime(2026, 1, 2, 3, 4, 5, 6),  # naive: taken as UTC
            api_key_name='clé ünïcode \u2028 "quoted" \\',
            use_case="kyc",
            backend="b",
            self_hosted=False,
            open_weights=True,
            data_types={"iban": 2, "email": 1, "a": 0},
            prompt_tokens=12,
            completion_tokens=0,
            ttft_ms=1e-05,
            duration_ms=123456789012.5,
            cost_eur=1.5e-12,
            energy_wh=2e16,
            energy_method="estimated:cpu-time",
            status="failed",
            decision="failed",
            http_status=503,
            error_code="ledger_unavailable",
            stream=True,
            used_tools=True,
        ),
        LedgerRecord(
            request_id="r-3", ts=datetime(2026, 5, 1, tzinfo=timezone(timedelta(hours=2)))
        ),
    ],
)
def test_sealed_hash_is_row_hash(rec) -> None:
    row = _sealed(rec)
    assert sealed_row_hash(row) == row_hash(row)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(max_size=30),
    number=st.floats(allow_nan=False, allow_infinity=False),
    count=st.integers(min_value=0, max_value=2**40),
    types=st.dictionaries(st.text(min_size=1, max_size=8), st.integers(0, 1000), max_size=4),
    when=st.datetimes(min_value=datetime(1970, 1, 2), timezones=st.just(UTC)),
)
def test_sealed_hash_is_row_hash_for_any_values(text, number, count, types, when) -> None:
    rec = LedgerRecord(
        request_id=text or "r",
        ts=when,
        reason=text,
        api_key_name=text,
        data_types=types,
        prompt_tokens=count,
        cost_eur=number,
        energy_wh=number,
        duration_ms=abs(number),
    )
    row = _sealed(rec)
    assert sealed_row_hash(row) == row_hash(row)
