"""Concurrent writers -- threads, coroutines, processes -- keep one valid chain."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading

from souverain.ledger import Ledger
from tests.ledger.helpers import record, write_many


def assert_one_chain(ledger: Ledger, expected_rows: int) -> None:
    result = ledger.verify()
    assert result.ok, result.first
    assert result.rows_checked == expected_rows == result.head_seq
    seqs = [r["seq"] for r in ledger.rows()]
    assert seqs == list(range(1, expected_rows + 1))


def test_threads(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:

        def worker(t: int) -> None:
            for i in range(40):
                ledger.write(record(request_id=f"t{t}-{i}"))

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert_one_chain(ledger, 320)


def test_coroutines_with_write_ahead(ledger_url: str) -> None:
    write_many(ledger_url, "co", 150)
    with Ledger.open(ledger_url) as ledger:
        assert_one_chain(ledger, 150)
        assert {r["status"] for r in ledger.rows()} == {"completed"}


def test_two_processes_and_two_ledgers_in_this_one(ledger_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Barrier(2)  # both children open their ledger, then start writing together
    procs = [
        ctx.Process(target=write_many, args=(ledger_url, f"p{p}", 300, go, 5)) for p in range(2)
    ]
    for p in procs:
        p.start()
    # Meanwhile, two more writers (separate connections) in this process.
    others = [Ledger.open(ledger_url) for _ in range(2)]
    try:
        asyncio.run(_write_both(others))
    finally:
        for o in others:
            o.close()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with Ledger.open(ledger_url) as ledger:
        assert_one_chain(ledger, 2 * 300 + 2 * 60)
        # The child processes really wrote at the same time: their sealing windows overlap.
        rows = list(ledger.rows())
        windows = [
            [r["sealed_at"] for r in rows if r["request_id"].startswith(f"p{p}-")] for p in range(2)
        ]
        assert max(min(w) for w in windows) <= min(max(w) for w in windows), "no overlap"


async def _write_both(ledgers: list[Ledger]) -> None:
    await asyncio.gather(
        *(
            ledger.finish(record(request_id=f"l{n}-{i}"))
            for n, ledger in enumerate(ledgers)
            for i in range(60)
        )
    )
