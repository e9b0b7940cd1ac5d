"""The vocabulary of one call through the pipeline: its context, how it ended, a refusal, and the
hooks it reports to (the audit trail implements them)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from souverain.backends.base import Backend, BackendError, GenerationRequest, Usage
from souverain.config.models import UseCaseConfig
from souverain.ledger.record import Decision, Kind, LedgerRecord
from souverain.metering.energy import Measurement
from souverain.policy.content import ContentScan
from souverain.policy.placement import Placement

__all__ = ["AuditHooks", "CallContext", "ClientError", "Decision", "Outcome", "Refusal"]


class Refusal(Exception):
    """The request may not be served. Maps to an OpenAI-shaped error.

    ``decision`` is what the ledger row says: ``refused`` (policy, client input), or ``failed``
    where the request was allowed but cannot be served now (a model still loading)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        type_: str = "invalid_request_error",
        headers: dict[str, str] | None = None,
        decision: Literal["refused", "failed"] = "refused",
    ):
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param
        self.type = type_
        self.headers = headers or {}
        self.decision = decision


@dataclass(slots=True)
class CallContext:
    """One call: who asked for which use case, and what the pipeline and the hooks learn on the way."""

    request_id: str
    use_case: UseCaseConfig
    api_key_name: str | None = None
    kind: Kind = "request"
    stream: bool = False
    #: the ledger's operation when the API's differs from the backend request's kind (POST
    #: /v1/responses: ``responses``, served as a chat)
    operation: str | None = None
    started: float = field(default_factory=time.perf_counter)
    #: this attempt's outcome was recorded (exactly one record per attempt)
    recorded: bool = False
    #: the ledger row this attempt writes: the request id, then ``<id>.<n>`` after an egress
    #: attempt that was already recorded as failed
    row_id: str = ""
    attempt: int = 1
    egress_begun: bool = False
    #: the client's request (before any data action)
    request: GenerationRequest | None = None
    #: the scan of what would leave (set by placement; capture reuses its findings)
    content: ContentScan | None = None
    #: the energy measurement started with the call (set by the audit hooks)
    measurement: Measurement | None = None
    #: bench and drills: serve on this backend only (if placement allows it), no fallback
    only_backend: str | None = None
    #: the ledger record written for this call (set by the audit hooks)
    audit: LedgerRecord | None = None
    #: objective routing's note for the ledger (e.g. served below the quality floor)
    note: str = ""

    def __post_init__(self) -> None:
        self.row_id = self.row_id or self.request_id

    def next_attempt(self) -> None:
        """Start a new attempt with its own row (the previous one was recorded as failed)."""
        self.attempt += 1
        self.row_id = f"{self.request_id}.{self.attempt}"
        self.recorded = self.egress_begun = False

    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started


@dataclass(slots=True)
class Outcome:
    """Everything the audit trail needs about one finished call (or attempt)."""

    ctx: CallContext
    decision: Decision
    status: Literal["completed", "refused", "failed"]
    placement: Placement | None = None
    backend: Backend | None = None
    usage: Usage = field(default_factory=Usage)
    ttft_s: float | None = None
    duration_s: float = 0.0
    http_status: int = 200
    error_code: str | None = None
    reason: str = ""
    finish_reason: str | None = None
    #: the (restored) answer text, for traffic capture; never logged or stored as is
    answer_text: str = ""

    @classmethod
    def completed(
        cls,
        ctx: CallContext,
        placement: Placement,
        backend: Backend,
        decision: Decision,
        *,
        usage: Usage,
        ttft_s: float | None,
        finish_reason: str | None,
        answer_text: str = "",
    ) -> Outcome:
        return cls(
            ctx,
            decision,
            "completed",
            placement,
            backend,
            usage=usage,
            ttft_s=ttft_s,
            duration_s=ctx.elapsed_s(),
            finish_reason=finish_reason,
            answer_text=answer_text,
            reason=ctx.note,
        )

    @classmethod
    def failed(
        cls,
        ctx: CallContext,
        placement: Placement,
        backend: Backend | None,
        exc: BackendError,
        usage: Usage | None = None,
        *,
        code: str | None = None,
    ) -> Outcome:
        return cls(
            ctx,
            "failed",
            "failed",
            placement,
            backend,
            usage=usage or Usage(),
            http_status=exc.status,
            error_code=code or exc.code,
            reason=str(exc),
            duration_s=ctx.elapsed_s(),
        )

    @classmethod
    def refused(cls, ctx: CallContext, placement: Placement | None, refusal: Refusal) -> Outcome:
        return cls(
            ctx,
            refusal.decision,
            refusal.decision,
            placement,
            None,
            http_status=refusal.status,
            error_code=refusal.code,
            reason=refusal.message,
            duration_s=ctx.elapsed_s(),
        )


@dataclass(slots=True)
class ClientError:
    """An authenticated request refused before it reached the pipeline."""

    request_id: str
    status: int
    code: str | None
    message: str
    api_key_name: str | None
    operation: str | None
    #: the ``model`` the client sent, when it could be read (an unknown use case included)
    requested_model: str | None = None
    #: the use case, when the model named one
    use_case: str | None = None
    stream: bool = False


class AuditHooks:
    """Where the pipeline reports; the audit trail implements these. Default: nothing."""

    def started(self, ctx: CallContext) -> None:
        """Called when a call starts (metering starts here)."""

    async def admit(self, ctx: CallContext) -> None:
        """Called before placement; raising :class:`Refusal` refuses (budgets)."""

    async def before_egress(
        self, ctx: CallContext, placement: Placement, backend: Backend, decision: Decision
    ) -> None:
        """Called before anything leaves for a non-self-hosted backend; raising refuses."""

    async def finish(self, outcome: Outcome) -> None:
        """Called exactly once per attempt; for self-hosted answers, before the final event."""

    async def client_error(self, error: ClientError) -> None:
        """A request refused before the pipeline (bad body, unknown model, use case not
        granted): recorded as one row; raising :class:`Refusal` answers that instead."""

    async def close(self) -> None:
        """Called once when the runtime closes: background work (capture) ends here."""
