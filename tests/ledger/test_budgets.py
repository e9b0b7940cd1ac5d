"""Budgets per API key and per use case, read from the ledger (SQLite and PostgreSQL), across
processes sharing one database."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from souverain.config import Config, parse_config
from souverain.ledger import (
    BudgetExceeded,
    BudgetGuard,
    Ledger,
    LedgerRecord,
    LedgerUnavailable,
)
from souverain.ledger.budgets import period_bounds
from souverain.ledger.record import utcnow

NOW = datetime(2026, 3, 15, 12, 0, 0, tzinfo=UTC)
_ids = itertools.count()


def config(
    key_budget: dict[str, float] | None = None, use_case_budget: dict[str, float] | None = None
) -> Config:
    return parse_config(
        {
            "backends": [
                {
                    "name": "local",
                    "type": "llamacpp",
                    "model": "embedded",
                    "self_hosted": True,
                    "operator": "us",
                    "operator_jurisdiction": "FR",
                    "location": "FR",
                    "open_weights": True,
                }
            ],
            "use_cases": [
                {"name": "research", "backends": ["local"], "budget": use_case_budget},
                {"name": "support", "backends": ["local"]},
            ],
            "api_keys": [
                {"name": "research-team", "sha256": "a" * 64, "budget": key_budget},
                {"name": "free", "sha256": "b" * 64},
            ],
        }
    )


def spend(cost: float | None, ts: datetime = NOW, **overrides: Any) -> LedgerRecord:
    values: dict[str, Any] = {
        "request_id": f"b-{next(_ids)}",
        "ts": ts,
        "api_key_name": "research-team",
        "use_case": "research",
        "cost_eur": cost,
    }
    values.update(overrides)
    return LedgerRecord(**values)


def check(
    guard: BudgetGuard, key: str | None = "research-team", use_case: str = "research"
) -> None:
    asyncio.run(guard.check(key, use_case))


def exceeded(guard: BudgetGuard, key: str | None = "research-team", use_case: str = "research"):  # type: ignore[no-untyped-def]
    with pytest.raises(BudgetExceeded) as info:
        check(guard, key, use_case)
    return info.value


# -- periods --------------------------------------------------------------------------------------
def test_period_bounds() -> None:
    b = period_bounds(NOW)
    assert b["day"] == (datetime(2026, 3, 15, tzinfo=UTC), datetime(2026, 3, 16, tzinfo=UTC))
    assert b["month"] == (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    dec = period_bounds(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert dec["day"][1] == dec["month"][1] == datetime(2027, 1, 1, tzinfo=UTC)
    assert period_bounds(datetime(2028, 2, 29, 5, tzinfo=UTC))["month"][1] == datetime(
        2028, 3, 1, tzinfo=UTC
    )
    # Periods are UTC: 00:30 in Paris on the 1st is still the previous UTC day and month.
    paris = datetime.fromisoformat("2026-04-01T00:30:00+02:00")
    assert period_bounds(paris)["month"][0] == datetime(2026, 3, 1, tzinfo=UTC)


# -- the aggregate query --------------------------------------------------------------------------
def test_ledger_spend_sums_by_key_or_use_case_per_window(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        ledger.write(spend(1.0, NOW))
        ledger.write(spend(2.0, NOW - timedelta(days=1)))
        ledger.write(spend(4.0, NOW, use_case="support"))
        ledger.write(spend(8.0, NOW, api_key_name="free"))
        ledger.write(spend(None, NOW))  # unpriced: counts 0
        day, month = NOW - timedelta(hours=12), NOW - timedelta(days=14)
        assert ledger.spend("api_key_name", "research-team", [day, month]) == (5.0, 7.0)
        assert ledger.spend("use_case", "research", [day, month]) == (9.0, 11.0)
        assert ledger.spend("use_case", "nobody", [day]) == (0.0,)
        assert ledger.spend("use_case", "research", []) == ()
        with pytest.raises(ValueError, match="by='model'"):
            ledger.spend("model", "x", [day])


# -- the guard ------------------------------------------------------------------------------------
def test_no_budget_costs_no_query(tmp_path) -> None:  # type: ignore[no-untyped-def]
    class NoLedger:
        def spend(self, *a: Any, **k: Any) -> Any:
            raise AssertionError("queried the ledger without a budget")

    guard = BudgetGuard(NoLedger(), config(), clock=lambda: NOW)  # type: ignore[arg-type]
    check(guard)
    check(guard, None, "support")
    assert guard.budgets("research-team", "research") == []


def test_api_key_day_budget(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        guard = BudgetGuard(ledger, config({"eur_per_day": 1.0}), cache_s=0, clock=lambda: NOW)
        check(guard)  # nothing spent
        ledger.write(spend(0.4))
        ledger.write(spend(0.5, use_case="support"))  # the key's budget covers every use case
        check(guard)
        check(guard, "free")  # another key, no budget
        ledger.write(spend(0.1))
        err = exceeded(guard)
        assert err.budget_name == "api_key:research-team:day"
        assert err.period == "day"
        assert err.limit_eur == 1.0
        assert err.spent_eur == pytest.approx(1.0)
        assert err.retry_after_s == 12 * 3600
        assert "api_key:research-team:day" in str(err)
        check(guard, "free")  # other keys are not affected
        exceeded(guard, "research-team", "support")  # nor does another use case escape it


def test_use_case_month_budget(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        guard = BudgetGuard(
            ledger,
            config(use_case_budget={"eur_per_day": 10.0, "eur_per_month": 5.0}),
            cache_s=0,
            clock=lambda: NOW,
        )
        ledger.write(spend(3.0, NOW - timedelta(days=10), api_key_name="free"))
        check(guard, "free")
        ledger.write(spend(2.0, NOW - timedelta(days=1), api_key_name=None))
        err = exceeded(guard, None)  # the use case's budget covers every key, and no key
        assert err.budget_name == "use_case:research:month"
        assert (err.period, err.limit_eur, err.spent_eur) == ("month", 5.0, 5.0)
        assert err.retry_after_s == int((datetime(2026, 4, 1, tzinfo=UTC) - NOW).total_seconds())
        check(guard, "free", "support")  # other use cases are not affected


def test_windows_yesterday_and_last_month_do_not_count(ledger_url: str) -> None:
    midnight = datetime(2026, 3, 15, tzinfo=UTC)
    with Ledger.open(ledger_url) as ledger:
        guard = BudgetGuard(
            ledger,
            config({"eur_per_day": 1.0, "eur_per_month": 3.0}),
            cache_s=0,
            clock=lambda: NOW,
        )
        ledger.write(spend(2.5, midnight - timedelta(microseconds=1)))  # yesterday
        ledger.write(spend(100.0, datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=UTC)))
        ledger.write(spend(0.4, midnight))  # the first instant of today counts
        check(guard)
        day, month = asyncio.run(guard.spent("api_key", "research-team"))
        assert day == pytest.approx(0.4)
        assert month == pytest.approx(2.9)
        ledger.write(spend(0.1))
        err = exceeded(guard)
        assert err.budget_name == "api_key:research-team:month"

    # On the 1st, last month's spend is gone.
    first = datetime(2026, 4, 1, 0, 0, 1, tzinfo=UTC)
    with Ledger.open(ledger_url) as ledger:
        guard = BudgetGuard(ledger, config({"eur_per_month": 3.0}), cache_s=0, clock=lambda: first)
        check(guard)


def test_only_requests_count_and_every_status_does(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        guard = BudgetGuard(ledger, config({"eur_per_day": 1.0}), cache_s=0, clock=lambda: NOW)
        ledger.write(spend(50.0, kind="bench"))
        ledger.write(spend(50.0, kind="drill"))
        pending = spend(None, self_hosted=False)
        ledger.begin_sync(pending)  # write-ahead row, cost unknown yet: counts 0
        check(guard)
        ledger.write(spend(0.5, status="failed", decision="failed"))
        ledger.write(spend(0.25, status="refused", decision="refused"))
        check(guard)
        pending.cost_eur = 0.25
        ledger.write(pending)  # finished: now it counts
        assert exceeded(guard).spent_eur == pytest.approx(1.0)


def test_the_budget_that_resets_last_is_reported(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        guard = BudgetGuard(
            ledger,
            config({"eur_per_day": 1.0}, {"eur_per_day": 1.0, "eur_per_month": 2.0}),
            cache_s=0,
            clock=lambda: NOW,
        )
        assert [b.budget_name for b in guard.budgets("research-team", "research")] == [
            "api_key:research-team:day",
            "use_case:research:day",
            "use_case:research:month",
        ]
        ledger.write(spend(1.0))
        assert exceeded(guard).budget_name == "api_key:research-team:day"
        ledger.write(spend(1.0, NOW - timedelta(days=3)))
        assert exceeded(guard).budget_name == "use_case:research:month"


def test_cache_bounds_the_queries(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        calls = []
        real = ledger.spend

        def counting(*a: Any, **k: Any) -> Any:
            calls.append(a[:2])
            return real(*a, **k)

        ledger.spend = counting  # type: ignore[method-assign]
        guard = BudgetGuard(ledger, config({"eur_per_day": 1.0}), cache_s=60, clock=lambda: NOW)

        async def many() -> None:
            await asyncio.gather(*(guard.check("research-team", "support") for _ in range(50)))

        asyncio.run(many())
        assert calls == [("api_key_name", "research-team")]  # 50 concurrent checks, one query
        ledger.write(spend(5.0))
        check(guard, "research-team", "support")  # the cached sum: this is the overspend window
        guard.cache_s = 0
        exceeded(guard, "research-team", "support")
        assert len(calls) == 2


def test_unreadable_ledger_fails_closed() -> None:
    class Down:
        def spend(self, *a: Any, **k: Any) -> Any:
            raise LedgerUnavailable("ledger unavailable: down")

    guard = BudgetGuard(Down(), config({"eur_per_day": 1.0}), clock=lambda: NOW)  # type: ignore[arg-type]
    for _ in range(2):  # a failed read is not cached
        with pytest.raises(LedgerUnavailable):
            check(guard)


def test_bad_cache_s() -> None:
    with pytest.raises(ValueError, match="cache_s"):
        BudgetGuard(None, config(), cache_s=-1)  # type: ignore[arg-type]


# -- several processes on one database ------------------------------------------------------------
def _spend_in_other_process(url: str, cost: float, spent: Any, done: Any) -> None:
    """Process A: spend ``cost`` on the research-team key now, then stay alive until told."""
    with Ledger.open(url) as ledger:
        ledger.write(spend(cost, utcnow(), use_case="support"))
        spent.set()
        done.wait(60)


def test_two_processes_share_the_budget(ledger_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    spent, done = ctx.Event(), ctx.Event()
    with Ledger.open(ledger_url) as ledger:  # process B, with its own ledger and guard
        guard = BudgetGuard(ledger, config({"eur_per_day": 1.0}), cache_s=0.2)
        ledger.write(spend(0.5, utcnow()))
        check(guard)
        other = ctx.Process(target=_spend_in_other_process, args=(ledger_url, 0.5, spent, done))
        other.start()
        try:
            assert spent.wait(60), "process A did not spend"
            asyncio.run(asyncio.sleep(0.25))  # past B's cache
            err = exceeded(guard)
            assert err.budget_name == "api_key:research-team:day"
            assert err.spent_eur == pytest.approx(1.0)
        finally:
            done.set()
            other.join(60)
        assert other.exitcode == 0
