"""The audit trail of the gateway: one ledger row per request, metered, plus Prometheus metrics.

- Egress (a backend that is not self-hosted): a ``pending`` row naming the destination, use case,
  decision and data types is committed *before* any byte leaves; if the ledger cannot be written
  the request is refused (503 ``ledger_unavailable``). The row is completed when the request ends.
- Self-hosted: the row is written once, committed before the answer's final chunk is sent.
- A request that falls back after an egress attempt failed keeps that attempt's row (data did
  leave), finalised as ``failed``; the next attempt's row id is ``<request id>.<attempt>``.

Each row is metered (energy measured or estimated, cost from the price table) and counted in the
Prometheus metrics; completed requests of use cases that opted in are handed to traffic capture.
"""

from __future__ import annotations

import logging

from souverain.backends.base import Backend
from souverain.config.models import SiteConfig
from souverain.gateway.call import (
    AuditHooks,
    CallContext,
    ClientError,
    Decision,
    Outcome,
    Refusal,
)
from souverain.gateway.capture import TrafficCapture
from souverain.gateway.metrics import Metrics
from souverain.ledger import (
    BudgetExceeded,
    BudgetGuard,
    Ledger,
    LedgerError,
    LedgerRecord,
    LedgerUnavailable,
)
from souverain.metering import EnergyReading, Meter, account
from souverain.metering.cost import format_eur
from souverain.policy.placement import Placement

log = logging.getLogger("souverain.audit")


#: seconds a client is told to wait when the ledger is unavailable
RETRY_AFTER_S = 2


def ledger_unavailable(message: str) -> Refusal:
    """503 ``ledger_unavailable`` with ``Retry-After``."""
    return Refusal(
        503,
        "ledger_unavailable",
        message,
        type_="service_unavailable",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _operation(kind: str) -> str:
    return {"chat": "chat", "embedding": "embeddings"}.get(kind, "text_completion")


class AuditTrail(AuditHooks):
    """The gateway's audit trail, built complete in one call: the ledger row of every call
    (metered: energy and cost), the Prometheus metrics, budget admission (budgets are spent from
    the ledger) and the hand-off to traffic capture. Without a ledger, rows are only metered and
    counted in the metrics."""

    def __init__(
        self,
        site: SiteConfig,
        *,
        metrics: Metrics | None = None,
        meter: Meter | None = None,
        ledger: Ledger | None = None,
        budgets: BudgetGuard | None = None,
        capture: TrafficCapture | None = None,
    ):
        self.site = site
        self.metrics = metrics
        self.meter = meter or Meter(site)
        self.ledger = ledger
        self.budgets = budgets
        self.capture = capture
        #: write-ahead rows (data left) whose finish could not be written: closed as failed
        #: 503 ledger_unavailable by the next write that succeeds
        self._unclosed: dict[str, LedgerRecord] = {}

    async def admit(self, ctx: CallContext) -> None:
        """Budgets: refuse (429 ``budget_exceeded``) once a key's or use case's budget is spent.
        Bench and drill runs are not charged to budgets."""
        if self.budgets is None or ctx.kind != "request":
            return
        try:
            await self.budgets.check(ctx.api_key_name, ctx.use_case.name)
        except BudgetExceeded as exc:
            raise Refusal(
                429,
                "budget_exceeded",
                f"budget {exc.budget_name!r} is spent: {format_eur(exc.spent_eur)} of "
                f"{format_eur(exc.limit_eur)} this {exc.period} (UTC)",
                type_="rate_limit_error",
                headers={"Retry-After": str(exc.retry_after_s)},
            ) from None
        except LedgerUnavailable:
            raise ledger_unavailable(
                "the ledger cannot be read to check this request's budget; retry later"
            ) from None

    # -- hooks ------------------------------------------------------------------------------------
    def started(self, ctx: CallContext) -> None:
        ctx.measurement = self.meter.start()

    async def before_egress(
        self, ctx: CallContext, placement: Placement, backend: Backend, decision: Decision
    ) -> None:
        if self.ledger is None:
            return
        rec = self._base(ctx, backend, decision, placement)
        rec.status = "pending"
        try:
            await self.ledger.begin(rec)
        except LedgerUnavailable:
            log.error(
                "ledger unavailable: refusing egress of %s to %s", ctx.request_id, backend.name
            )
            raise ledger_unavailable(
                "the audit ledger cannot be written, so nothing may leave for a backend that is not "
                "self-hosted; retry later"
            ) from None

    async def finish(self, outcome: Outcome) -> None:
        rec = self._record(outcome)
        outcome.ctx.audit = rec
        if self.capture is not None:
            self.capture.offer(outcome)
        if self.metrics is not None:
            self.metrics.observe(
                use_case=rec.use_case or "-",
                backend=rec.backend or "",
                decision=rec.decision,
                code=rec.error_code,
                prompt_tokens=rec.prompt_tokens or 0,
                completion_tokens=rec.completion_tokens or 0,
                duration_s=outcome.duration_s,
                ttft_s=outcome.ttft_s,
                cost_eur=rec.cost_eur,
                energy_wh=rec.energy_wh,
                energy_method=rec.energy_method,
            )
        if self.ledger is None:
            return
        try:
            await self.ledger.finish(rec)
        except LedgerError as exc:
            # never an answer without its row: the answer (or refusal) is withheld
            log.error("ledger: could not write the row of request %s: %s", rec.request_id, exc)
            if outcome.ctx.egress_begun:
                self._withheld(rec, exc)
            raise ledger_unavailable(
                "the audit ledger cannot be written, so this request cannot be answered; "
                "retry later"
            ) from None
        if self._unclosed:
            await self._close_unclosed()

    def _withheld(self, rec: LedgerRecord, exc: Exception) -> None:
        """Its pending row (data did leave) is to be closed as what the client saw: 503."""
        rec.status, rec.decision = "failed", "failed"
        rec.http_status, rec.error_code = 503, "ledger_unavailable"
        rec.reason = f"answer withheld: its row could not be written ({type(exc).__name__})"
        self._unclosed[rec.request_id] = rec

    async def _close_unclosed(self) -> None:
        assert self.ledger is not None
        for request_id, rec in list(self._unclosed.items()):
            try:
                await self.ledger.finish(rec)
            except LedgerUnavailable:
                return  # down again: the next successful write retries
            except LedgerError:
                pass  # finalised meanwhile (the first write had committed after all)
            self._unclosed.pop(request_id, None)

    async def client_error(self, error: ClientError) -> None:
        """One refused row for a request refused before placement (no backend, no cost)."""
        if self.metrics is not None:
            self.metrics.observe(
                use_case=error.use_case or "-",
                backend="",
                decision="refused",
                code=error.code,
                prompt_tokens=0,
                completion_tokens=0,
                duration_s=0.0,
                ttft_s=None,
                cost_eur=None,
                energy_wh=None,
                energy_method="unknown",
            )
        if self.ledger is None:
            return
        rec = LedgerRecord(
            request_id=error.request_id,
            api_key_name=error.api_key_name,
            use_case=error.use_case,
            operation=error.operation,
            requested_model=(error.requested_model or "")[:256] or None,
            decision="refused",
            status="refused",
            reason=error.message[:2000],
            http_status=error.status,
            error_code=error.code,
            stream=error.stream,
        )
        try:
            await self.ledger.finish(rec)
        except LedgerError as exc:
            log.error("ledger: could not write the row of request %s: %s", rec.request_id, exc)
            raise ledger_unavailable(
                "the audit ledger cannot be written, so this request cannot be answered; "
                "retry later"
            ) from None

    # -- records ----------------------------------------------------------------------------------
    def _base(
        self,
        ctx: CallContext,
        backend: Backend | None,
        decision: Decision,
        placement: Placement | None,
    ) -> LedgerRecord:
        meta = backend.metadata if backend is not None else None
        req = ctx.request
        return LedgerRecord(
            request_id=ctx.row_id,
            kind=ctx.kind,
            api_key_name=ctx.api_key_name,
            use_case=ctx.use_case.name,
            backend=meta.name if meta else None,
            operation=ctx.operation or (_operation(req.kind) if req else None),
            requested_model=ctx.use_case.name,
            model=meta.model if meta else None,
            operator=meta.operator if meta else None,
            operator_jurisdiction=meta.operator_jurisdiction if meta else None,
            location=meta.location if meta else None,
            self_hosted=meta.self_hosted if meta else None,
            open_weights=meta.open_weights if meta else None,
            decision=decision,
            data_types=dict(placement.data_types) if placement else {},
            stream=ctx.stream,
            used_tools=bool(req and req.uses_tools()),
            used_json_mode=bool(req and req.uses_json_mode()),
        )

    async def close(self) -> None:
        if self.capture is not None:
            await self.capture.close()

    def _energy(self, ctx: CallContext, backend: Backend | None) -> EnergyReading | None:
        reading = self.meter.stop(ctx.measurement) if ctx.measurement is not None else None
        if backend is None or not backend.computes_here:
            return None  # computed elsewhere: estimated from the model's size, if declared
        resources = backend.last_resource_usage(ctx.request_id)
        if resources is not None and self.meter.method == "estimated:cpu-time":
            # the generation thread's own CPU time: exact for this request, even when queued
            return self.meter.reading(resources.cpu_seconds, resources.busy_seconds)
        return reading

    def _record(self, o: Outcome) -> LedgerRecord:
        rec = self._base(o.ctx, o.backend, o.decision, o.placement)
        rec.status = o.status
        rec.reason = o.reason or None
        rec.http_status = o.http_status
        rec.error_code = o.error_code
        rec.prompt_tokens = o.usage.prompt_tokens
        rec.completion_tokens = o.usage.completion_tokens
        rec.ttft_ms = o.ttft_s * 1000 if o.ttft_s is not None else None
        rec.duration_ms = o.duration_s * 1000
        reading = self._energy(o.ctx, o.backend)
        if o.backend is not None and o.status != "refused":
            fields = account(
                o.backend.config,
                self.site,
                model=rec.model,
                prompt_tokens=rec.prompt_tokens or 0,
                completion_tokens=rec.completion_tokens or 0,
                reading=reading,
                duration_s=o.duration_s,
            )
            for key, value in fields.items():
                setattr(rec, key, value)
        return rec
