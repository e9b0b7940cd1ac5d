"""The request pipeline shared by the HTTP API, the bench and the exit drills.

    classify content -> place (policy, data actions, health) -> [pseudonymise] -> backend
    -> [restore] -> audit (ledger, metrics)

Fallback to the next compliant candidate happens only before the first byte of an answer was
produced; after that a failure ends the answer with an error. Every call ends in exactly one
audit record (served, refused or failed) through :class:`AuditHooks`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from souverain.backends.base import (
    Backend,
    BackendError,
    BackendOverloaded,
    BackendRejected,
    Completion,
    GenerationRequest,
    StreamEvent,
    Usage,
)
from souverain.config.models import UseCaseConfig
from souverain.detect import Scanner
from souverain.policy.content import ContentScan
from souverain.policy.placement import Exclusion, Placement, place
from souverain.policy.pseudonymize import Pseudonymizer, StreamRestorer

Decision = Literal["served", "pseudonymized", "refused", "failed"]


class Refusal(Exception):
    """The request may not be served. Maps to an OpenAI-shaped error."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        type_: str = "invalid_request_error",
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param
        self.type = type_
        self.headers = headers or {}


@dataclass(slots=True)
class CallContext:
    request_id: str
    use_case: UseCaseConfig
    api_key_name: str | None = None
    kind: Literal["request", "bench", "drill"] = "request"
    stream: bool = False
    started: float = field(default_factory=time.perf_counter)
    recorded: bool = False
    #: the ledger row this attempt writes: the request id, then ``<id>.<n>`` after an egress
    #: attempt that was already recorded as failed
    row_id: str = ""
    attempt: int = 1
    egress_begun: bool = False
    request: GenerationRequest | None = None
    measurement: Any = None
    #: bench and drills: serve on this backend only (if placement allows it), no fallback
    only_backend: str | None = None
    #: the audit record written for this call (set by the audit hooks)
    audit: Any = None
    #: objective routing's note for the ledger (e.g. served below the quality floor)
    note: str = ""

    def __post_init__(self) -> None:
        self.row_id = self.row_id or self.request_id


@dataclass(slots=True)
class Outcome:
    """Everything the audit trail needs about one finished call."""

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
    request: GenerationRequest | None = None
    finish_reason: str | None = None
    #: the (restored) answer text, for traffic capture; never logged or stored as is
    answer_text: str = ""


class AuditHooks:
    """Where the pipeline reports; the ledger and metrics implement these. Default: nothing."""

    def started(self, ctx: CallContext) -> None:
        """Called when a call starts (metering starts here)."""

    async def admit(self, ctx: CallContext) -> None:
        """Called before placement; raising :class:`Refusal` refuses (budgets)."""

    async def before_egress(
        self, ctx: CallContext, placement: Placement, backend: Backend, decision: Decision
    ) -> None:
        """Called before anything leaves for a non-self-hosted backend; raising refuses."""

    async def finish(self, outcome: Outcome) -> None:
        """Called exactly once per call; for self-hosted answers, before the final event."""


class Answer:
    """An answer being produced by the chosen backend. Iterate :meth:`events` exactly once."""

    def __init__(
        self,
        pipeline: Pipeline,
        ctx: CallContext,
        placement: Placement,
        backend: Backend,
        decision: Decision,
        request: GenerationRequest,
        first: StreamEvent | None,
        rest: AsyncIterator[StreamEvent] | None,
        completion: Completion | None,
        pseudonymizer: Pseudonymizer | None,
    ):
        self.pipeline, self.ctx, self.placement = pipeline, ctx, placement
        self.backend, self.decision, self.request = backend, decision, request
        self._first, self._rest, self.completion = first, rest, completion
        self._pz = pseudonymizer
        self.ttft_s: float | None = None

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def restored_completion(self) -> Completion:
        assert self.completion is not None
        c = self.completion
        if self._pz is None:
            return c
        calls = None
        if c.tool_calls:
            calls = [
                dict(
                    tc,
                    function={
                        **tc.get("function", {}),
                        "arguments": self._pz.restore_json(
                            tc.get("function", {}).get("arguments", "")
                        ),
                    },
                )
                for tc in c.tool_calls
            ]
        return Completion(self._pz.restore(c.text), c.finish_reason, c.usage, calls)

    async def finish_completion(self) -> Completion:
        """Non-streamed: audit and return the (restored) completion."""
        comp = self.restored_completion()
        await self._completed(comp.usage, comp.finish_reason, comp.text)
        return comp

    async def _completed(self, usage: Usage, finish_reason: str, text: str) -> None:
        await self.pipeline._finish(
            self.ctx,
            self.placement,
            self.backend,
            self.decision,
            self.request,
            usage=usage,
            ttft_s=self.ttft_s,
            finish_reason=finish_reason,
            answer_text=text,
        )

    async def _failed(self, exc: BackendError, usage: Usage, code: str | None = None) -> None:
        await self.pipeline._fail(
            self.ctx, self.placement, self.backend, self.request, exc, usage, code=code
        )

    async def events(self) -> AsyncIterator[StreamEvent]:
        """Streamed: yield restored events; the final one (finish + usage) only after auditing."""
        restorer = StreamRestorer(self._pz) if self._pz is not None else None
        arg_restorers: dict[int, StreamRestorer] = {}
        usage, finish = Usage(), None
        ok = False
        parts: list[str] = []
        try:
            event = self._first
            rest = self._rest
            assert rest is not None
            while event is not None:
                if event.usage is not None:
                    usage = event.usage
                if event.finish_reason is not None:
                    finish = event.finish_reason
                    if restorer is not None:
                        tail = restorer.flush()
                        if tail:
                            parts.append(tail)
                            yield StreamEvent(text=tail)
                        for r in arg_restorers.values():
                            r.flush()
                    ok = True
                    await self._completed(usage, finish, "".join(parts))
                    yield StreamEvent(finish_reason=finish, usage=usage)
                    return
                if restorer is not None:
                    if event.text:
                        event = StreamEvent(
                            text=restorer.feed(event.text), tool_calls=event.tool_calls
                        )
                    if event.tool_calls:
                        event.tool_calls = [
                            self._restore_call(d, arg_restorers) for d in event.tool_calls
                        ]
                if event.text or event.tool_calls:
                    if event.text:
                        parts.append(event.text)
                    yield event
                event = await anext(rest, None)
            # the backend ended without a final event
            raise BackendError(self.backend.name, "the answer ended without a finish reason")
        except BackendError as exc:
            await self._failed(exc, usage)
            raise
        finally:
            if not ok and self._rest is not None:
                await self._rest.aclose()  # type: ignore[attr-defined]
                if not self.pipeline._finished(self.ctx):
                    disconnected = BackendError(self.backend.name, "client disconnected")
                    await self._failed(disconnected, usage, "client_disconnected")

    def _restore_call(
        self, delta: dict[str, Any], restorers: dict[int, StreamRestorer]
    ) -> dict[str, Any]:
        fn = delta.get("function")
        if not fn or not fn.get("arguments") or self._pz is None:
            return delta
        r = restorers.setdefault(
            int(delta.get("index", 0)), self._pz.stream_restorer(json_escape=True)
        )
        return {**delta, "function": {**fn, "arguments": r.feed(fn["arguments"])}}


@dataclass(slots=True)
class RoutingPlan:
    """Objective routing for one use case, from its latest bench results (souverain advise)."""

    order: list[str]
    below_floor: dict[str, str] = field(default_factory=dict)  # backend -> why

    def apply(self, placement: Placement, ctx: CallContext) -> None:
        rank = {name: i for i, name in enumerate(self.order)}
        placement.candidates.sort(key=lambda c: rank.get(c.backend.name, len(rank)))
        if placement.candidates and all(
            c.backend.name in self.below_floor for c in placement.candidates
        ):
            first = placement.candidates[0].backend.name
            ctx.note = f"objective routing: only candidates below the quality floor remain ({self.below_floor[first]})"
            if ctx.use_case.on_below_floor == "refuse":
                for c in placement.candidates:
                    placement.excluded.append(
                        Exclusion(
                            c.backend.name,
                            "policy",
                            f"below the quality floor: {self.below_floor[c.backend.name]}",
                        )
                    )
                placement.candidates = []


class Pipeline:
    def __init__(
        self, backends: dict[str, Backend], scanner: Scanner, hooks: AuditHooks | None = None
    ):
        self.backends = backends
        self.scanner = scanner
        self.hooks = hooks or AuditHooks()
        #: use case -> objective routing plan (set by the runtime from the latest bench results)
        self.routing: dict[str, RoutingPlan] = {}

    def _finished(self, ctx: CallContext) -> bool:
        return ctx.recorded

    def plan(
        self, ctx: CallContext, request: GenerationRequest, **kwargs: Any
    ) -> tuple[Placement, ContentScan]:
        content = ContentScan(self.scanner, request)
        needs = content.needs(ctx.stream)
        return place(ctx.use_case, self.backends, content.findings, needs, **kwargs), content

    async def open(self, ctx: CallContext, request: GenerationRequest) -> Answer:
        """Place the request and start the answer on the first candidate that produces one."""
        ctx.request = request
        self.hooks.started(ctx)
        try:
            await self.hooks.admit(ctx)
        except Refusal as refusal:
            raise await self._refuse(ctx, None, request, refusal) from None
        placement, content = self.plan(ctx, request)
        if ctx.only_backend is not None:
            self._restrict(placement, ctx.only_backend)
        elif (plan := self.routing.get(ctx.use_case.name)) is not None:
            plan.apply(placement, ctx)
        if placement.blocked:
            types = ", ".join(placement.blocked_types)
            raise await self._refuse(
                ctx,
                placement,
                request,
                Refusal(
                    403,
                    "sensitive_data_blocked",
                    f"the request contains data the use case {ctx.use_case.name!r} blocks: {types} "
                    "(values are not shown); remove it and retry",
                    type_="policy_error",
                ),
            )
        if not placement.candidates:
            if placement.only_capability_gaps():
                raise await self._refuse(
                    ctx,
                    placement,
                    request,
                    Refusal(
                        400,
                        "unsupported_parameter",
                        placement.refusal_message(),
                        param="tools"
                        if request.uses_tools()
                        else "response_format"
                        if request.uses_json_mode()
                        else None,
                    ),
                )
            raise await self._refuse(
                ctx,
                placement,
                request,
                Refusal(
                    503, "no_compliant_backend", placement.refusal_message(), type_="policy_error"
                ),
            )

        last_error: BackendError | None = None
        advance = False
        for candidate in placement.candidates:
            if advance:
                ctx.attempt += 1
                ctx.row_id = f"{ctx.request_id}.{ctx.attempt}"
                ctx.recorded = ctx.egress_begun = advance = False
            backend = candidate.backend
            pz = Pseudonymizer() if candidate.pseudonymize else None
            outgoing = (
                content.pseudonymized(placement.pseudonymize_categories, pz)
                if pz is not None
                else request
            )
            decision: Decision = "pseudonymized" if pz is not None and len(pz) else "served"
            if pz is not None and not len(pz):
                pz = None
            if not backend.metadata.self_hosted:
                try:
                    await self.hooks.before_egress(ctx, placement, backend, decision)
                except Refusal as refusal:
                    raise await self._refuse(ctx, placement, request, refusal) from None
                ctx.egress_begun = True
            try:
                if ctx.stream:
                    rest = backend.stream(outgoing)
                    first = await anext(rest, None)
                    if first is None:
                        raise BackendError(backend.name, "empty answer")
                    answer = Answer(
                        self, ctx, placement, backend, decision, outgoing, first, rest, None, pz
                    )
                else:
                    completion = await backend.complete(outgoing)
                    answer = Answer(
                        self,
                        ctx,
                        placement,
                        backend,
                        decision,
                        outgoing,
                        None,
                        None,
                        completion,
                        pz,
                    )
                answer.ttft_s = time.perf_counter() - ctx.started
                return answer
            except BackendRejected as exc:
                await self._fail(ctx, placement, backend, outgoing, exc, Usage())
                raise
            except BackendError as exc:
                placement.excluded.append(
                    Exclusion(backend.name, "failed", f"failed: {exc.message}")
                )
                last_error = exc
                if ctx.egress_begun:  # data left: that attempt keeps its own row, marked failed
                    await self._fail(ctx, placement, backend, outgoing, exc, Usage())
                    advance = True
                continue
        assert last_error is not None
        if len(placement.candidates) > 1:
            tried = "; ".join(str(e) for e in placement.excluded if e.kind == "failed")
            last_error.message = f"{last_error.message} (all compliant backends failed: {tried})"
        if not ctx.recorded:
            await self._fail(
                ctx, placement, placement.candidates[-1].backend, request, last_error, Usage()
            )
        if isinstance(last_error, BackendOverloaded):
            raise last_error
        raise last_error

    @staticmethod
    def _restrict(placement: Placement, name: str) -> None:
        kept = [c for c in placement.candidates if c.backend.name == name]
        placement.excluded = [e for e in placement.excluded if e.backend == name] or (
            [] if kept else [Exclusion(name, "removed", "not a candidate of this use case")]
        )
        placement.candidates = kept

    async def _refuse(
        self,
        ctx: CallContext,
        placement: Placement | None,
        request: GenerationRequest,
        refusal: Refusal,
    ) -> Refusal:
        await self._record(
            Outcome(
                ctx,
                "refused",
                "refused",
                placement,
                None,
                http_status=refusal.status,
                error_code=refusal.code,
                reason=refusal.message,
                request=request,
                duration_s=time.perf_counter() - ctx.started,
            )
        )
        return refusal

    async def _fail(
        self,
        ctx: CallContext,
        placement: Placement,
        backend: Backend | None,
        request: GenerationRequest,
        exc: BackendError,
        usage: Usage,
        *,
        code: str | None = None,
    ) -> None:
        await self._record(
            Outcome(
                ctx,
                "failed",
                "failed",
                placement,
                backend,
                usage=usage,
                http_status=exc.status,
                error_code=code or exc.code,
                reason=str(exc),
                request=request,
                duration_s=time.perf_counter() - ctx.started,
            )
        )

    async def _finish(
        self,
        ctx: CallContext,
        placement: Placement,
        backend: Backend,
        decision: Decision,
        request: GenerationRequest,
        *,
        usage: Usage,
        ttft_s: float | None,
        finish_reason: str | None,
        answer_text: str = "",
    ) -> None:
        await self._record(
            Outcome(
                ctx,
                decision,
                "completed",
                placement,
                backend,
                usage=usage,
                ttft_s=ttft_s,
                duration_s=time.perf_counter() - ctx.started,
                request=request,
                finish_reason=finish_reason,
                answer_text=answer_text,
                reason=ctx.note,
            )
        )

    async def _record(self, outcome: Outcome) -> None:
        if outcome.ctx.recorded:
            return
        outcome.ctx.recorded = True
        await self.hooks.finish(outcome)
