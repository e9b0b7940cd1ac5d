"""``/readyz``'s backend probes, cached: at most one probe round per ``server.readyz_cache_s``
(default 5 s), run in the background while callers get the latest results -- so a load balancer,
or anyone, hitting ``/readyz`` 40 times makes one round of outbound probes, not 40. While some
backend is not ready (models loading, an upstream down) the results are kept 1 s at most, so
readiness is noticed soon after it comes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping

from souverain.backends.base import Backend, Health

#: how long a round in which some backend was not ready is kept (seconds)
NOT_READY_CACHE_S = 1.0


class Readiness:
    def __init__(self, backends: Mapping[str, Backend], cache_s: float) -> None:
        self._backends = backends
        self.cache_s = cache_s
        self._results: dict[str, Health] | None = None
        self._at = 0.0
        self._task: asyncio.Task[None] | None = None
        #: probe rounds run so far (tests and metrics read it)
        self.rounds = 0

    def _stale(self) -> bool:
        if self._results is None:
            return True
        ready = all(h.ok for h in self._results.values())
        keep = self.cache_s if ready else min(self.cache_s, NOT_READY_CACHE_S)
        return time.monotonic() - self._at >= keep

    async def results(self) -> dict[str, Health]:
        """The latest probe results; starts a round in the background when they are stale, and
        waits for it only when there are none yet."""
        if self._task is None and self._stale():
            self._task = asyncio.create_task(self._refresh(), name="readyz-probes")
        if self._results is None:
            assert self._task is not None
            await asyncio.shield(self._task)
        assert self._results is not None
        return self._results

    async def _refresh(self) -> None:
        try:
            names = list(self._backends)
            found = await asyncio.gather(
                *(self._backends[n].health() for n in names), return_exceptions=True
            )
            self._results = {
                n: h
                if isinstance(h, Health)
                else Health(False, f"probe failed ({type(h).__name__})")
                for n, h in zip(names, found, strict=True)
            }
            self._at = time.monotonic()
            self.rounds += 1
        finally:
            self._task = None

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
