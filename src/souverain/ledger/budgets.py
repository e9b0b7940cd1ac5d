"""Spending budgets per API key and per use case, checked against the shared ledger.

A budget is a limit in EUR per UTC calendar day and/or per UTC calendar month, configured as
``budget: {eur_per_day, eur_per_month}`` on an API key or a use case. Before a request is
served, :meth:`BudgetGuard.check` sums ``cost_eur`` of the ledger rows with ``kind = "request"``
for that key and for that use case since the start of the current day and month (every status;
a pending row, whose cost is not known yet, counts 0) and raises :class:`BudgetExceeded` when a
sum has already reached its limit. The sums are read from the database, so every gateway worker
sharing one PostgreSQL ledger sees the spend of the others.

Runtime keys (``souverain keys create --budget-eur X``, :mod:`souverain.ledger.keys`) have a
monthly budget; :meth:`BudgetGuard.set_key_budgets` replaces them whenever the keys change. A
config key's budget wins over a runtime key of the same name.

Budget names are ``<scope>:<name>:<period>``: ``scope`` is ``api_key`` or ``use_case``, ``name``
the configured key or use-case name (which may itself contain ``:``), ``period`` ``day`` or
``month`` -- e.g. ``api_key:research-team:day``, ``use_case:research:month``.

Overspend bound. The check admits a request while the spend is below the limit; its cost is only
known when it finishes. So a budget can be exceeded by (a) the requests already admitted when the
limit is crossed, and (b) with the cache (``cache_s``, default 1 s), the requests each worker
admits during up to ``cache_s`` after the crossing, since it may still hold a sum read before it.
At most: ``(requests in flight + requests admitted in cache_s, all workers) x the largest cost of
one request``. ``cache_s=0`` removes (b) at the cost of one query per check per budgeted scope.
See docs/ledger.md, "Budgets".
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from souverain.ledger.record import as_utc, utcnow

if TYPE_CHECKING:
    from souverain.config import Config
    from souverain.ledger.store import Ledger

Scope = Literal["api_key", "use_case"]
Period = Literal["day", "month"]
#: The ledger column each scope sums over.
COLUMNS: dict[Scope, str] = {"api_key": "api_key_name", "use_case": "use_case"}


@dataclass(frozen=True, slots=True)
class Budget:
    """One limit: ``scope`` ``name`` may spend ``limit_eur`` per ``period``."""

    scope: Scope
    name: str
    period: Period
    limit_eur: float

    @property
    def budget_name(self) -> str:
        return f"{self.scope}:{self.name}:{self.period}"


class BudgetExceeded(Exception):
    """A budget is used up: the gateway answers 429 ``budget_exceeded`` naming ``budget_name``,
    with ``Retry-After: retry_after_s``."""

    def __init__(
        self,
        budget_name: str,
        limit_eur: float,
        spent_eur: float,
        period: Period,
        retry_after_s: int,
    ) -> None:
        self.budget_name = budget_name
        self.limit_eur = limit_eur
        self.spent_eur = spent_eur
        self.period = period
        #: Whole seconds (rounded up, >= 1) until the period resets (UTC midnight / 1st).
        self.retry_after_s = retry_after_s
        super().__init__(
            f"budget {budget_name!r} exceeded: {spent_eur:.6g} EUR spent this {period} (UTC) "
            f"of {limit_eur:.6g} EUR; resets in {retry_after_s} s"
        )


def period_bounds(now: datetime) -> dict[Period, tuple[datetime, datetime]]:
    """The current UTC day and calendar month as ``[start, end)`` for ``now``."""
    now = as_utc(now)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    return {"day": (day, day + timedelta(days=1)), "month": (month, next_month)}


@dataclass(slots=True)
class _Spend:
    day_start: datetime  # the periods it was read for
    read_at: float  # time.monotonic() when the query started
    day: float
    month: float


_Key = tuple[Scope, str]


class BudgetGuard:
    """Checks requests against the budgets of ``config`` (``config.api_keys`` and
    ``config.use_cases``). Build one per process (and again when the configuration changes).

    ``cache_s``: how long a sum read from the ledger is reused (see the overspend bound in the
    module docstring); concurrent checks that miss the cache share one query. ``clock``: the
    current UTC time (tests)."""

    def __init__(
        self,
        ledger: Ledger,
        config: Config | Any,
        *,
        cache_s: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if cache_s < 0:
            raise ValueError("cache_s must be >= 0")
        self.ledger = ledger
        self.cache_s = cache_s
        self.clock = clock
        self._limits: dict[_Key, dict[Period, float]] = {}
        self._add("api_key", config.api_keys)
        self._add("use_case", config.use_cases)
        self._runtime: dict[_Key, dict[Period, float]] = {}
        self._cache: dict[_Key, _Spend] = {}
        self._inflight: dict[tuple[_Key, datetime], asyncio.Future[_Spend]] = {}

    def _add(self, scope: Scope, items: Iterable[Any]) -> None:
        for item in items:
            budget = item.budget
            if budget is None:
                continue
            limits: dict[Period, float] = {}
            if budget.eur_per_day is not None:
                limits["day"] = float(budget.eur_per_day)
            if budget.eur_per_month is not None:
                limits["month"] = float(budget.eur_per_month)
            if limits:
                self._limits[(scope, item.name)] = limits

    def set_key_budgets(self, keys: Iterable[Any]) -> None:
        """The monthly budgets of the runtime keys (items with ``name`` and
        ``budget_eur_month``), replacing the previous ones."""
        self._runtime = {
            ("api_key", k.name): {"month": float(k.budget_eur_month)}
            for k in keys
            if k.budget_eur_month is not None
        }

    def _limits_of(self, key: _Key) -> dict[Period, float]:
        return self._limits.get(key) or self._runtime.get(key) or {}

    def budgets(self, api_key_name: str | None, use_case: str | None) -> list[Budget]:
        """The budgets that apply to a request of this key and use case (dict lookups only)."""
        out = []
        for key in _keys(api_key_name, use_case):
            for period, limit in self._limits_of(key).items():
                out.append(Budget(key[0], key[1], period, limit))
        return out

    async def check(self, api_key_name: str | None, use_case: str) -> None:
        """Raise :class:`BudgetExceeded` if a budget of this key or use case is already used up
        in the current UTC day or month; when several are, the one that resets last. Without a
        budget for either, returns at once (no query). A ledger that cannot be read raises
        :class:`~souverain.ledger.LedgerUnavailable` (fail closed)."""
        keys = [k for k in _keys(api_key_name, use_case) if self._limits_of(k)]
        if not keys:
            return
        now = as_utc(self.clock())
        bounds = period_bounds(now)
        spends = await asyncio.gather(*(self._spend(key, bounds) for key in keys))
        worst: BudgetExceeded | None = None
        for key, spend in zip(keys, spends, strict=True):
            for period, limit in self._limits_of(key).items():
                spent = spend.day if period == "day" else spend.month
                if spent < limit:
                    continue
                retry = max(1, math.ceil((bounds[period][1] - now).total_seconds()))
                if worst is None or retry > worst.retry_after_s:
                    name = Budget(key[0], key[1], period, limit).budget_name
                    worst = BudgetExceeded(name, limit, spent, period, retry)
        if worst is not None:
            raise worst

    async def spent(self, scope: Scope, name: str) -> tuple[float, float]:
        """EUR spent by ``scope`` ``name`` this UTC day and this month (cached like ``check``)."""
        spend = await self._spend((scope, name), period_bounds(self.clock()))
        return spend.day, spend.month

    async def _spend(self, key: _Key, bounds: dict[Period, tuple[datetime, datetime]]) -> _Spend:
        day_start = bounds["day"][0]
        cached = self._cache.get(key)
        if (
            cached is not None
            and cached.day_start == day_start
            and time.monotonic() - cached.read_at <= self.cache_s
        ):
            return cached
        flight = (key, day_start)
        future = self._inflight.get(flight)
        if future is None:
            future = asyncio.ensure_future(self._read(key, bounds))
            self._inflight[flight] = future
            future.add_done_callback(lambda f: self._landed(flight, f))
        # shield: one caller being cancelled must not cancel the query the others wait on
        return await asyncio.shield(future)

    def _landed(self, flight: tuple[_Key, datetime], future: asyncio.Future[_Spend]) -> None:
        self._inflight.pop(flight, None)
        if not future.cancelled():
            future.exception()  # retrieved: no "never retrieved" warning if every waiter left

    async def _read(self, key: _Key, bounds: dict[Period, tuple[datetime, datetime]]) -> _Spend:
        read_at = time.monotonic()
        day_start, month_start = bounds["day"][0], bounds["month"][0]
        day, month = await asyncio.to_thread(
            self.ledger.spend, COLUMNS[key[0]], key[1], (day_start, month_start)
        )
        spend = _Spend(day_start, read_at, day, month)
        self._cache[key] = spend
        return spend


def _keys(api_key_name: str | None, use_case: str | None) -> list[_Key]:
    keys: list[_Key] = []
    if api_key_name is not None:
        keys.append(("api_key", api_key_name))
    if use_case is not None:
        keys.append(("use_case", use_case))
    return keys


__all__ = ["COLUMNS", "Budget", "BudgetExceeded", "BudgetGuard", "period_bounds"]
