"""The sliding window both counter stores implement: per-second buckets over the last 60 s.

A counter is a map ``second -> amount``. A check with ``need`` (1 for a request; 1 for tokens,
i.e. "some tokens left", since a request's tokens are only known once it finished) passes when
the amount in the window plus ``need`` stays within the limit; then ``cost`` (1 for a request,
0 for tokens) is added to the current second. All checks of one request pass or none is charged.
The Redis store runs the same steps in one Lua script (:mod:`souverain.limits.redis_store`), so
that the check and the charge are one atomic step for every replica.
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOW_S = 60


@dataclass(frozen=True, slots=True)
class Check:
    """One limit to check: the counter ``key``, its ``limit``, and what the request adds now."""

    key: str
    limit: int
    cost: int  # added when admitted: 1 for requests, 0 for tokens (added after the answer)
    kind: str  # "requests" or "tokens" (for the headers)
    scope: str  # e.g. "api_key:team-a" (for the message)


@dataclass(frozen=True, slots=True)
class Usage:
    """A counter's state after a check: what is left, and when it frees up."""

    check: Check
    remaining: int
    reset_s: float  # until everything counted now has left the window
    retry_s: float  # until one more would pass (0 when it passes now)


def evaluate(buckets: dict[int, int], check: Check, now: int) -> tuple[bool, Usage]:
    """Whether ``check`` passes on ``buckets`` (seconds -> amount, pruned to the window) at
    ``now`` (whole seconds), and the usage it leaves if charged."""
    live = sorted((s, c) for s, c in buckets.items() if s > now - WINDOW_S)
    total = sum(c for _, c in live)
    ok = total + max(check.cost, 1) <= check.limit
    retry = 0.0
    if not ok:
        left = total
        for sec, count in live:
            left -= count
            if left + max(check.cost, 1) <= check.limit:
                retry = float(sec + WINDOW_S - now)
                break
    after = total + (check.cost if ok else 0)
    newest = max((s for s, _ in live), default=None)
    if ok and check.cost:
        newest = now
    reset = float(newest + WINDOW_S - now) if newest is not None and after else 0.0
    return ok, Usage(check, max(0, check.limit - after), reset, max(retry, 1.0) if not ok else 0.0)
