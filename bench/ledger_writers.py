"""The ledger's write path on PostgreSQL from several writer processes (replicas) at once.

Each writer is a separate process with its own ``Ledger`` (its own writer thread, connections and
``writer_id``), as gateway replicas are; in each, ``--concurrency`` coroutines await
``Ledger.finish`` (a self-hosted request: one sealed row) or, with ``--write-ahead``,
``begin`` + ``finish`` (egress: a pending row first). Every seal locks the one chain head, so
the writers serialise on it: the point is what that costs. 1 writer and 3 writers run side by
side in one run; each reports rows/s (all writers together) and the per-write latency as the
caller sees it (queueing + group commit), p50 and p99. The chain is verified at the end (one
chain, no gap, no duplicate seq).

    .venv/bin/python bench/ledger_writers.py [--rows 1500] [--concurrency 8] [--write-ahead]
        [--pg postgresql://postgres@127.0.0.1:5432/test]

A fresh schema is created in that database and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import time
import uuid
from typing import Any

from ledger_bench import _record  # the same row as the single-process ledger bench

from souverain.ledger import Ledger


def _writer(args: tuple[str, int, int, bool, Any]) -> list[float]:
    """One writer process: ``rows`` writes from ``concurrency`` coroutines; latencies in µs."""
    url, rows, concurrency, write_ahead, start_at = args
    prefix = uuid.uuid4().hex[:10]
    ledger = Ledger.open(url)
    latencies: list[float] = []

    async def one(c: int) -> None:
        for i in range(c, rows, concurrency):
            rec = _record(i, prefix, self_hosted=not write_ahead)
            t = time.perf_counter()
            if write_ahead:
                await ledger.begin(rec)
            await ledger.finish(rec)
            latencies.append((time.perf_counter() - t) * 1e6)

    async def main() -> None:
        await asyncio.gather(*(one(c) for c in range(concurrency)))

    while time.time() < start_at:  # every writer starts at once
        time.sleep(0.001)
    asyncio.run(main())
    ledger.close()
    return latencies


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def run(url: str, writers: int, rows: int, concurrency: int, write_ahead: bool) -> dict[str, float]:
    ctx = mp.get_context("spawn")
    with ctx.Pool(writers) as pool:
        start_at = time.time() + 3.0  # after the processes have imported and opened the ledger
        jobs = [(url, rows, concurrency, write_ahead, start_at)] * writers
        t0 = time.time()
        results = pool.map(_writer, jobs)
        elapsed = time.time() - max(start_at, t0)
    lat = [x for r in results for x in r]
    return {
        "writers": writers,
        "rows": len(lat),
        "rows_per_s": len(lat) / elapsed,
        "p50_us": _pct(lat, 50),
        "p99_us": _pct(lat, 99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1500, help="writes per writer process")
    parser.add_argument("--concurrency", type=int, default=8, help="coroutines per process")
    parser.add_argument("--write-ahead", action="store_true", help="begin + finish (egress)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    import psycopg

    schema = f"souverain_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{args.pg}?options=-csearch_path%3D{schema}"
    try:
        Ledger.open(url).close()  # migrate once
        mode = "begin+finish (egress)" if args.write_ahead else "finish (self-hosted)"
        print(f"PostgreSQL ledger, {mode}, {args.concurrency} coroutines per writer process")
        results = [run(url, n, args.rows, args.concurrency, args.write_ahead) for n in (1, 3)]
        for r in results:
            print(
                f"writers={r['writers']}  rows={r['rows']:<6} rows/s={r['rows_per_s']:8.0f}  "
                f"p50={r['p50_us'] / 1000:7.2f} ms  p99={r['p99_us'] / 1000:7.2f} ms"
            )
        one, three = results
        print(
            f"3 writers vs 1: rows/s x{three['rows_per_s'] / one['rows_per_s']:.2f}, "
            f"p99 x{three['p99_us'] / one['p99_us']:.2f}"
        )
        with Ledger.open(url) as ledger:
            result = ledger.verify()
        print(
            f"chain: {result.rows_checked} rows, head seq {result.head_seq}, "
            f"{'valid' if result.ok else 'BROKEN: ' + str(result.problems[:3])}"
        )
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
