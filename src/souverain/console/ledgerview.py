"""The ledger page: the latest rows that match the filters, the chain's status, export.

Rows come from :mod:`souverain.ledger.query`; the chain status from
:func:`souverain.ledger.verify.verify`, run when someone asks (it reads every row) and the first
time the page is opened in this process. The result is kept with the time it was taken, so the
page says how old it is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from souverain.console.period import Period, read_period
from souverain.ledger.query import RowFilter
from souverain.ledger.record import DECISIONS, KINDS, STATUSES
from souverain.ledger.verify import VerifyResult, verify

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass
class LedgerQuery:
    """The page's filters, as read from its query string (unknown values are dropped, and
    reported)."""

    period: Period
    flt: RowFilter
    limit: int
    params: dict[str, str]
    errors: list[str] = field(default_factory=list)


def read_query(params: Mapping[str, str], use_cases: list[str]) -> LedgerQuery:
    period = read_period({"since": params.get("since", ""), **dict(params)})
    errors = list(period.errors)
    chosen: dict[str, str | None] = {}
    for name, allowed in (
        ("use_case", use_cases),
        ("decision", DECISIONS),
        ("status", STATUSES),
        ("kind", KINDS),
    ):
        value = (params.get(name) or "").strip() or None
        if value is not None and value not in allowed:
            errors.append(f"{name.replace('_', ' ')}: unknown value {value!r}")
            value = None
        chosen[name] = value
    try:
        limit = min(max(int(params.get("limit", DEFAULT_LIMIT)), 1), MAX_LIMIT)
    except ValueError:
        limit = DEFAULT_LIMIT
    request_id = (params.get("request_id") or "").strip()[:128] or None
    flt = RowFilter(
        since=period.since,
        until=period.until,
        kinds=(chosen["kind"],) if chosen["kind"] else None,
        use_case=chosen["use_case"],
        decision=chosen["decision"],
        status=chosen["status"],
        request_id=request_id,
    )
    kept = {k: v for k, v in chosen.items() if v} | period.query()
    if request_id:
        kept["request_id"] = request_id
    return LedgerQuery(period, flt, limit, kept, errors)


@dataclass(frozen=True)
class ChainCheck:
    result: VerifyResult
    checked_at: float  # epoch seconds
    seconds: float

    @property
    def status(self) -> str:
        """``data-chain``: ``ok`` or ``broken``."""
        return "ok" if self.result.ok else "broken"


class ChainChecks:
    """The latest verification of this process, one run at a time."""

    def __init__(self) -> None:
        self.latest: ChainCheck | None = None
        self._lock = asyncio.Lock()

    async def run(self, ledger: Any) -> ChainCheck:
        async with self._lock:
            started = time.perf_counter()
            result = await asyncio.to_thread(verify, ledger)
            self.latest = ChainCheck(result, time.time(), time.perf_counter() - started)
            return self.latest

    async def current(self, ledger: Any) -> ChainCheck:
        return self.latest if self.latest is not None else await self.run(ledger)
