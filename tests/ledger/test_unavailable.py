"""When the ledger cannot be written the caller gets LedgerUnavailable (the gateway: 503)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from souverain.ledger import Ledger, LedgerUnavailable
from tests.ledger.helpers import record


def test_unreachable_postgres_raises_at_open() -> None:
    with pytest.raises(LedgerUnavailable, match="cannot open"):
        Ledger.open("postgresql://nobody@127.0.0.1:1/none")


def test_unwritable_sqlite_path_raises_at_open(tmp_path) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(LedgerUnavailable):
        Ledger.open(str(blocker / "sub" / "ledger.db"))


def test_write_after_the_database_breaks(ledger_url: str) -> None:
    ledger = Ledger.open(ledger_url)
    try:
        ledger.write(record())
        with ledger.engine.begin() as conn:
            conn.execute(text("DROP TABLE ledger"))
        with pytest.raises(LedgerUnavailable):
            ledger.write(record())
        with pytest.raises(LedgerUnavailable):
            asyncio.run(ledger.begin(record(self_hosted=False)))
    finally:
        ledger.close()


def test_closed_ledger_raises(ledger_url: str) -> None:
    ledger = Ledger.open(ledger_url)
    ledger.close()
    with pytest.raises(LedgerUnavailable, match="closed"):
        ledger.write(record())
