"""Everything a running gateway holds, built from the config in one place (no module globals).

The HTTP app, the bench and the drills all build a :class:`Runtime`; the app keeps it on
``app.state.runtime``.
"""

from __future__ import annotations

import asyncio
import logging

from souverain.backends.base import Backend
from souverain.backends.registry import create_backend
from souverain.config.schema import Config
from souverain.detect import Scanner
from souverain.gateway.pipeline import AuditHooks, Pipeline

log = logging.getLogger("souverain.runtime")


class Runtime:
    def __init__(self, config: Config, hooks: AuditHooks | None = None):
        from souverain.api.auth import KeyRing

        self.config = config
        self.backends: dict[str, Backend] = {b.name: create_backend(b) for b in config.backends}
        self.scanner = Scanner(confidential_markers=config.confidential_markers)
        self.keyring = KeyRing(config.api_keys)
        self.hooks = hooks or AuditHooks()
        self.pipeline = Pipeline(self.backends, self.scanner, self.hooks)
        self._start_tasks: list[asyncio.Task[None]] = []

    async def start(self, wait: bool = True) -> None:
        """Start every backend (load models, open connection pools).

        With ``wait=False`` loading goes on in the background and ``/readyz`` reports progress.
        """
        self._start_tasks = [
            asyncio.create_task(b.start(), name=f"start-{b.name}") for b in self.backends.values()
        ]
        if wait:
            await asyncio.gather(*self._start_tasks)

    async def close(self) -> None:
        for task in self._start_tasks:
            if not task.done():
                task.cancel()
        for b in self.backends.values():
            try:
                await b.close()
            except Exception:  # closing must go on for the others
                log.exception("backend %s: error while closing", b.name)
