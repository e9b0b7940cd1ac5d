"""Everything a running gateway holds, built from the config in one place (no module globals).

The HTTP app, the bench and the drills all build a :class:`Runtime`; the app keeps it on
``app.state.runtime``. Authentication is the API's business: ``create_app`` builds the keyring.
"""

from __future__ import annotations

import asyncio
import logging

from souverain.backends.base import Backend
from souverain.backends.registry import create_backend
from souverain.config.schema import Config
from souverain.detect import Scanner
from souverain.gateway.audit import AuditTrail
from souverain.gateway.call import AuditHooks
from souverain.gateway.metrics import Metrics
from souverain.gateway.pipeline import Pipeline
from souverain.ledger import BudgetGuard, Ledger
from souverain.ledger.checkpoint import AutoCheckpointer, load_key
from souverain.ledger.keys import KeyStore, RuntimeKeys
from souverain.limits import RateLimiter
from souverain.policy.routing import RoutingPlan, RoutingSource

log = logging.getLogger("souverain.runtime")


class Runtime:
    """Backends, scanner, pipeline and audit trail (ledger, metering, metrics).

    ``hooks`` replaces the audit trail (tests); by default the ledger of ``config.ledger`` is
    opened at :meth:`start` (schema migrations applied, interrupted rows marked) and the audit
    trail is built on it. ``routing`` makes the objective-routing plans at start (the API passes
    :func:`souverain.evaluation.advise.routing_plans`); without it the configured order stands.
    """

    def __init__(
        self,
        config: Config,
        hooks: AuditHooks | None = None,
        *,
        ledger: Ledger | None = None,
        routing: RoutingSource | None = None,
    ):
        self.config = config
        self.backends: dict[str, Backend] = {b.name: create_backend(b) for b in config.backends}
        self.scanner = Scanner(confidential_markers=config.confidential_markers)
        self.metrics = Metrics()
        self.ledger: Ledger | None = None
        #: runtime API keys from the ledger database, polled while running (the API reads them)
        self.keys = RuntimeKeys()
        #: rate limits per key and use case (Redis or in-process counters; connects on first use)
        self.limiter = RateLimiter.from_config(config)
        self._opened_ledger = ledger  # already opened by the caller (serve checks it first)
        self._custom_hooks = hooks is not None
        self._routing_source = routing
        self.routing: dict[str, RoutingPlan] = {}
        self.hooks: AuditHooks = hooks or AuditTrail(config.site, metrics=self.metrics)
        self.pipeline = Pipeline(self.backends, self.scanner, self.hooks)
        self._start_tasks: list[asyncio.Task[None]] = []
        self.checkpointer: AutoCheckpointer | None = None
        self._checkpoint_task: asyncio.Task[None] | None = None
        self._keys_task: asyncio.Task[None] | None = None

    def open_ledger(self) -> None:
        """Open the configured ledger (blocking: migrations) and build the audit trail on it;
        idempotent."""
        if self._custom_hooks or not self.config.ledger.enabled or self.ledger is not None:
            return
        given, self._opened_ledger = self._opened_ledger, None
        self.ledger = (
            given
            if given is not None
            else Ledger.open(
                self.config.ledger.url,
                timeout_s=self.config.ledger.timeout_ms / 1000,
                lease_s=self.config.ledger.lease_s,
            )
        )
        capture = None
        if any(u.capture.enabled for u in self.config.use_cases):
            from souverain.capture import CaptureStore
            from souverain.gateway.capture import TrafficCapture

            capture = TrafficCapture(CaptureStore(self.ledger), self.scanner)
        budgets = BudgetGuard(self.ledger, self.config)
        self.keys.on_change.append(budgets.set_key_budgets)
        self.keys.bind(KeyStore(self.ledger.engine, self.ledger.read_engine))
        self.hooks = AuditTrail(
            self.config.site,
            metrics=self.metrics,
            ledger=self.ledger,
            budgets=budgets,
            capture=capture,
        )
        self._assemble()

    def load_routing(self) -> None:
        """Objective routing: order each use case's candidates by its latest bench results."""
        if self._routing_source is None:
            return
        self.routing = self._routing_source(self.config, self.backends)
        self._assemble()

    def _assemble(self) -> None:
        self.pipeline = Pipeline(self.backends, self.scanner, self.hooks, self.routing)

    async def start(self, wait: bool = True) -> None:
        """Open the ledger, then start every backend (load models, open connection pools).

        With ``wait=False`` loading goes on in the background and ``/readyz`` reports progress.
        """
        await asyncio.to_thread(self.open_ledger)
        await asyncio.to_thread(self.load_routing)
        self._start_checkpoints()
        if self.keys.store is not None:
            self._keys_task = asyncio.create_task(self._poll_keys(), name="runtime-keys")
        self._start_tasks = [
            asyncio.create_task(b.start(), name=f"start-{b.name}") for b in self.backends.values()
        ]
        if wait:
            await asyncio.gather(*self._start_tasks)

    async def load_failures(self) -> dict[str, str]:
        """Wait until every backend's start has finished; return the backends computing here
        whose model failed to load, with the reason (empty when all loaded)."""
        await asyncio.gather(*self._start_tasks, return_exceptions=True)
        return {
            name: b.unhealthy_reason()
            for name, b in self.backends.items()
            if b.computes_here and not b.is_healthy()
        }

    def _start_checkpoints(self) -> None:
        """Automatic signed checkpoints (``ledger.checkpoints``), checked in a background task."""
        cfg = self.config.ledger.checkpoints
        if cfg is None or self.ledger is None or self._checkpoint_task is not None:
            return
        cfg.dir.mkdir(parents=True, exist_ok=True)
        every_s = cfg.every_minutes * 60
        self.checkpointer = AutoCheckpointer(
            self.ledger,
            cfg.dir,
            load_key(cfg.key_file),
            every_rows=cfg.every_rows,
            every_s=every_s,
        )
        interval = max(0.2, min(5.0, every_s / 2))
        self._checkpoint_task = asyncio.create_task(
            self._checkpoint_loop(self.checkpointer, interval), name="ledger-checkpoints"
        )

    @staticmethod
    async def _checkpoint_loop(checkpointer: AutoCheckpointer, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(checkpointer.tick)
            except Exception:  # a failed check or write is retried at the next tick
                log.exception("ledger checkpoints: the check or the write failed")

    async def _poll_keys(self) -> None:
        """Reload the runtime keys when they change (a create, revoke or rotate elsewhere)."""
        while True:
            await asyncio.sleep(self.keys.interval_s)
            try:
                await asyncio.to_thread(self.keys.refresh)
            except Exception:  # never let the poll die: the next tick tries again
                log.exception("runtime keys: refresh failed")

    async def close(self) -> None:
        if self._keys_task is not None:
            self._keys_task.cancel()
            self._keys_task = None
        for task in self._start_tasks:
            if not task.done():
                task.cancel()
        if self._checkpoint_task is not None:
            self._checkpoint_task.cancel()
            self._checkpoint_task = None
        for b in self.backends.values():
            try:
                await b.close()
            except Exception:  # closing must go on for the others
                log.exception("backend %s: error while closing", b.name)
        await self.hooks.close()
        if self.checkpointer is not None:  # the rows of this run, anchored before exit
            try:
                await asyncio.to_thread(self.checkpointer.tick, final=True)
            except Exception:
                log.exception("ledger checkpoints: the final checkpoint failed")
            self.checkpointer = None
        await self.limiter.close()
        if self.ledger is not None:
            await asyncio.to_thread(self.ledger.close)
            self.ledger = None
