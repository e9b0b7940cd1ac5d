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
from souverain.gateway.audit import LedgerHooks
from souverain.gateway.metrics import Metrics
from souverain.gateway.pipeline import AuditHooks, Pipeline
from souverain.ledger import BudgetGuard, Ledger

log = logging.getLogger("souverain.runtime")


class Runtime:
    """Backends, scanner, keys, pipeline and audit trail (ledger, metering, metrics).

    ``hooks`` replaces the audit trail (tests); by default the ledger of ``config.ledger`` is
    opened at :meth:`start` (schema migrations applied, interrupted rows marked).
    """

    def __init__(
        self, config: Config, hooks: AuditHooks | None = None, *, ledger: Ledger | None = None
    ):
        from souverain.api.auth import KeyRing

        self.config = config
        self.backends: dict[str, Backend] = {b.name: create_backend(b) for b in config.backends}
        self.scanner = Scanner(confidential_markers=config.confidential_markers)
        self.keyring = KeyRing(config.api_keys)
        self.metrics = Metrics()
        self.ledger: Ledger | None = None
        self._opened_ledger = ledger  # already opened by the caller (serve checks it first)
        self._custom_hooks = hooks is not None
        self.hooks: AuditHooks = hooks or LedgerHooks(None, config.site, self.metrics)
        self.pipeline = Pipeline(self.backends, self.scanner, self.hooks)
        self._start_tasks: list[asyncio.Task[None]] = []

    def open_ledger(self) -> None:
        """Open the configured ledger (blocking: migrations); idempotent."""
        if self._custom_hooks or not self.config.ledger.enabled or self.ledger is not None:
            return
        given, self._opened_ledger = self._opened_ledger, None
        self.ledger = given if given is not None else Ledger.open(self.config.ledger.url)
        assert isinstance(self.hooks, LedgerHooks)
        self.hooks.ledger = self.ledger
        self.hooks.budgets = BudgetGuard(self.ledger, self.config)
        if any(u.capture.enabled for u in self.config.use_cases):
            from souverain.capture import CaptureStore

            self.hooks.capture = CaptureStore(self.ledger)
            self.hooks.scanner = self.scanner

    def load_routing(self) -> None:
        """Objective routing: order each use case's candidates by its latest bench results.

        Without results (or without an ``objective``) the configured order stands."""
        from souverain.evaluation.advise import advise_use_case, load_all_results, results_dir
        from souverain.gateway.pipeline import RoutingPlan

        routed = [uc for uc in self.config.use_cases if uc.objective is not None]
        docs = load_all_results(results_dir(self.config)) if routed else []
        plans = {}
        for uc in routed:
            advice = advise_use_case(uc, self.backends, docs)
            if not any(d.status in ("meets-floor", "below-floor") for d in advice.decisions):
                continue  # no results for this use case: the configured order stands
            below = {d.backend: d.reason for d in advice.decisions if d.status == "below-floor"}
            plans[uc.name] = RoutingPlan(advice.order, below)
            log.info(
                "objective routing for %s (%s): %s", uc.name, uc.objective, ", ".join(advice.order)
            )
        self.pipeline.routing = plans

    async def start(self, wait: bool = True) -> None:
        """Open the ledger, then start every backend (load models, open connection pools).

        With ``wait=False`` loading goes on in the background and ``/readyz`` reports progress.
        """
        await asyncio.to_thread(self.open_ledger)
        await asyncio.to_thread(self.load_routing)
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
        pending = getattr(self.hooks, "_capture_tasks", None)
        if pending:
            await asyncio.gather(*list(pending), return_exceptions=True)
        if self.ledger is not None:
            await asyncio.to_thread(self.ledger.close)
            self.ledger = None
