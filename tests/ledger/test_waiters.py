"""The writer as an event loop awaits it: a caller that goes away keeps its row, and a write
still queued at the timeout is withdrawn and never applied."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from souverain.ledger import Ledger, LedgerUnavailable
from tests.ledger.helpers import record


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another process's write transaction, as far as the ledger can tell."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def _request_ids(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT request_id FROM ledger")}


def test_a_cancelled_caller_keeps_its_row(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = Ledger.open(str(path))
    rec = record()
    lock = _hold_write_lock(path)

    async def client_goes_away() -> None:
        task = asyncio.create_task(ledger.finish(rec))
        await asyncio.sleep(0.2)  # the writer holds the write, waiting for the lock
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        asyncio.run(client_goes_away())
    finally:
        lock.rollback()
        lock.close()
    ledger.close()  # the queued write is finished first
    assert rec.request_id in _request_ids(path)


def test_a_write_still_queued_at_the_timeout_is_never_applied(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = Ledger.open(str(path), timeout_s=0.3)
    first, second = record(), record()
    writer = ledger._writer
    release, apply = threading.Event(), writer._apply

    def stalled(batch):  # type: ignore[no-untyped-def]
        release.wait(5)  # a commit that takes longer than the callers wait
        return apply(batch)

    writer._apply = stalled  # type: ignore[method-assign]

    async def two_writes() -> list[BaseException | None]:
        running = asyncio.create_task(ledger.finish(first))
        await asyncio.sleep(0.05)  # the writer took the first one
        queued = asyncio.create_task(ledger.finish(second))
        done = await asyncio.gather(queued, return_exceptions=True)
        release.set()
        return [*done, *(await asyncio.gather(running, return_exceptions=True))]

    queued, running = asyncio.run(two_writes())
    ledger.close()
    assert isinstance(queued, LedgerUnavailable) and "no commit within 300 ms" in str(queued)
    assert running is None  # taken before its timeout: it is waited for, then committed
    ids = _request_ids(path)
    assert first.request_id in ids and second.request_id not in ids
