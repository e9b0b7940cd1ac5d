"""Small builders shared by the ledger tests."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from souverain.ledger import Ledger, LedgerRecord
from souverain.ledger.record import utcnow
from souverain.ledger.schema import ledger as ledger_table

_counter = itertools.count()
T0 = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)


def record(**overrides: Any) -> LedgerRecord:
    n = next(_counter)
    values: dict[str, Any] = {
        "request_id": f"req-{n:06d}",
        "ts": T0 + timedelta(seconds=n),
        "api_key_name": "team-a",
        "use_case": "support",
        "backend": "local",
        "model": "gemma-3-270m",
        "operator": "self",
        "operator_jurisdiction": "FR",
        "location": "FR",
        "self_hosted": True,
        "open_weights": True,
        "prompt_tokens": 12,
        "completion_tokens": 30,
        "duration_ms": 250.5,
        "cost_eur": 0.000123,
        "energy_wh": 0.01,
        "energy_method": "estimated:cpu-time",
        "http_status": 200,
    }
    values.update(overrides)
    return LedgerRecord(**values)


def write_many(url: str, prefix: str, n: int, start: Any = None, wave: int = 200) -> None:
    """Open a ledger and write ``n`` rows, every third one write-ahead first, ``wave`` requests
    at a time (a worker process); wait for the ``start`` event first if given."""
    import asyncio

    from souverain.ledger import Ledger

    async def run(ledger: Ledger) -> None:
        async def one(i: int) -> None:
            rec = record(request_id=f"{prefix}-{i}", self_hosted=i % 3 != 0)
            if not rec.self_hosted:
                await ledger.begin(rec)
            await ledger.finish(rec)

        for first in range(0, n, wave):
            await asyncio.gather(*(one(i) for i in range(first, min(n, first + wave))))

    with Ledger.open(url) as ledger:
        if start is not None:
            start.wait(30)
        asyncio.run(run(ledger))


def insert_pending(ledger: Ledger, request_id: str, writer: str, age_s: float) -> None:
    """A pending row as another writer would have left it, ``age_s`` seconds old."""
    row = record(request_id=request_id, status="pending").content()
    created = utcnow() - timedelta(seconds=age_s)
    row.update(writer_id=writer, created_at=created, data_types=json.dumps(row["data_types"]))
    with ledger.engine.begin() as conn:
        conn.execute(insert(ledger_table).values(**row))
