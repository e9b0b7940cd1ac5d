"""Ledger write cost per request: SQLite and PostgreSQL, 1 and 32 concurrent writers.

Each writer is a coroutine on one event loop (as in the gateway) awaiting ``Ledger.finish`` for
a self-hosted request (one sealed row); ``--write-ahead`` adds the egress ``begin`` first. Reports
per-write latency p50/p99 (µs, as the caller sees it: queueing + commit) and rows/s.

    .venv/bin/python bench/ledger_bench.py [--rows 3000] [--pg postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from souverain.ledger import Ledger, LedgerRecord


def _record(i: int, prefix: str, self_hosted: bool = True) -> LedgerRecord:
    return LedgerRecord(
        request_id=f"{prefix}-{i}",
        kind="bench",
        api_key_name="bench",
        use_case="bench",
        backend="local",
        model="m",
        operator="self",
        operator_jurisdiction="FR",
        location="FR",
        self_hosted=self_hosted,
        open_weights=True,
        prompt_tokens=100,
        completion_tokens=200,
        duration_ms=123.4,
        cost_eur=0.0001,
        energy_wh=0.01,
        energy_method="estimated:cpu-time",
        data_types={"email": 1},
        http_status=200,
    )


async def _run(
    ledger: Ledger, writers: int, rows: int, write_ahead: bool
) -> tuple[list[float], float]:
    prefix = uuid.uuid4().hex[:8]
    latencies: list[float] = []
    per_writer = rows // writers

    async def writer(w: int) -> None:
        for i in range(per_writer):
            rec = _record(w * per_writer + i, prefix)
            t = time.perf_counter()
            if write_ahead:
                rec.self_hosted = False
                await ledger.begin(rec)
            await ledger.finish(rec)
            latencies.append((time.perf_counter() - t) * 1e6)

    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    return latencies, len(latencies) / (time.perf_counter() - start)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def bench(url: str, label: str, rows: int, write_ahead: bool) -> None:
    with Ledger.open(url) as ledger:
        asyncio.run(_run(ledger, 1, 200, write_ahead))  # warm up
        for writers in (1, 32):
            lat, rate = asyncio.run(_run(ledger, writers, rows, write_ahead))
            print(
                f"{label:<10} writers={writers:<3} p50={_pct(lat, 50):8.0f} µs  "
                f"p99={_pct(lat, 99):8.0f} µs  mean={statistics.mean(lat):8.0f} µs  {rate:8.0f} rows/s"
            )
        assert ledger.verify().ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3200)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--write-ahead", action="store_true", help="begin + finish per request")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench(str(Path(tmp) / "ledger.db"), "sqlite", args.rows, args.write_ahead)
    if args.pg:
        import psycopg

        schema = f"souverain_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            bench(
                f"{args.pg}?options=-csearch_path%3D{schema}",
                "postgresql",
                args.rows,
                args.write_ahead,
            )
        finally:
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
