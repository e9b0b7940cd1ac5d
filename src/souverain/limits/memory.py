"""Counters in this process: exact for one gateway process, not shared between replicas or
``--workers`` (set ``limits.redis_url`` for those)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from souverain.limits.window import WINDOW_S, Check, Usage, evaluate


class MemoryStore:
    kind = "in-process"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._counters: dict[str, dict[int, int]] = {}

    def describe(self) -> str:
        return "in process (this process only: not shared with other replicas or workers)"

    def _buckets(self, key: str, now: int) -> dict[int, int]:
        buckets = self._counters.setdefault(key, {})
        for sec in [s for s in buckets if s <= now - WINDOW_S]:
            del buckets[sec]
        return buckets

    async def admit(self, checks: Sequence[Check]) -> tuple[bool, list[Usage]]:
        # no await between reading and charging: atomic on the event loop
        now = int(self.clock())
        results = [evaluate(self._buckets(c.key, now), c, now) for c in checks]
        ok = all(passed for passed, _ in results)
        if ok:
            for c in checks:
                if c.cost:
                    buckets = self._counters[c.key]
                    buckets[now] = buckets.get(now, 0) + c.cost
        return ok, [usage for _, usage in results]

    async def add(self, keys: Sequence[str], amount: int) -> None:
        now = int(self.clock())
        for key in keys:
            buckets = self._buckets(key, now)
            buckets[now] = buckets.get(now, 0) + amount

    async def close(self) -> None:
        self._counters.clear()
