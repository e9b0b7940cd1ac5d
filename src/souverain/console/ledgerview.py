"""The ledger page: the latest rows that match the filters, the chain's status, export.

Rows come from :mod:`souverain.ledger.query`; the chain status from
:func:`souverain.ledger.verify.verify` and the newest signed checkpoint of
``ledger.checkpoints.dir``, run when someone asks (it reads every row) and the first time the page
is opened in this process. The result is kept with the time it was taken, so the
page says how old it is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from souverain.config.models import CheckpointConfig
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
class CheckpointStatus:
    """The newest signed checkpoint in ``ledger.checkpoints.dir`` and how the ledger fares
    against it (``problem``: truncated, re-hashed, bad signature; ``None`` when it holds)."""

    directory: str | None  # None: no directory configured
    file: str | None = None
    seq: int | None = None
    time: str | None = None
    key_id: str | None = None
    signature_checked: bool = False  # the key was at hand to check the signature
    problem: str | None = None
    unchecked: str | None = None  # why it could not be checked (no key in this process)


def checkpoint_status(ledger: Any, cfg: CheckpointConfig | None) -> CheckpointStatus:
    """Read the newest checkpoint of the configured sink and check the ledger against it
    (signature included when the signing key is available to this process)."""
    from souverain.ledger import checkpoint as cp

    if cfg is None:
        return CheckpointStatus(None)
    found = cp.newest(cfg.dir)
    if found is None:
        return CheckpointStatus(str(cfg.dir))
    path, doc = found
    status = {
        "directory": str(cfg.dir),
        "file": path.name,
        "seq": doc.get("seq"),
        "time": str(doc.get("time", "")),
        "key_id": str(doc.get("key_id", "")),
    }
    try:
        key = cp.load_key(cfg.key_file)
    except cp.CheckpointError as exc:
        return CheckpointStatus(**status, unchecked=f"not checked here: {exc}")
    problems = cp.check(ledger, [found], key)
    return CheckpointStatus(
        **status, signature_checked=True, problem=str(problems[0]) if problems else None
    )


@dataclass(frozen=True)
class ChainCheck:
    result: VerifyResult
    checked_at: float  # epoch seconds
    seconds: float
    checkpoint: CheckpointStatus = field(default_factory=lambda: CheckpointStatus(None))

    @property
    def status(self) -> str:
        """``data-chain``: ``ok`` or ``broken`` (the chain, or the ledger against its newest
        checkpoint: a truncated tail is broken even when the rows that remain chain up)."""
        return "ok" if self.result.ok and self.checkpoint.problem is None else "broken"


class ChainChecks:
    """The latest verification of this process, one run at a time."""

    def __init__(self) -> None:
        self.latest: ChainCheck | None = None
        self._lock = asyncio.Lock()

    async def run(self, ledger: Any, checkpoints: CheckpointConfig | None = None) -> ChainCheck:
        async with self._lock:
            started = time.perf_counter()
            result = await asyncio.to_thread(verify, ledger)
            anchored = await asyncio.to_thread(checkpoint_status, ledger, checkpoints)
            self.latest = ChainCheck(result, time.time(), time.perf_counter() - started, anchored)
            return self.latest

    async def current(self, ledger: Any, checkpoints: CheckpointConfig | None = None) -> ChainCheck:
        if self.latest is not None:
            return self.latest
        return await self.run(ledger, checkpoints)
