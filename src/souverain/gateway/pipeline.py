"""The request pipeline shared by the HTTP API, the bench and the exit drills.

    admit (budgets) -> place (content scan, policy, data actions, health, objective routing)
    -> refuse, or start: [pseudonymise] -> backend -> Answer: [restore] -> record

Fallback to the next compliant candidate happens only before the first byte of an answer was
produced; after that a failure ends the answer with an error. Every attempt ends in exactly one
record (served, refused or failed) through the :class:`~souverain.gateway.call.AuditHooks`.

The call vocabulary (``CallContext``, ``Outcome``, ``Refusal``, ``AuditHooks``) lives in
:mod:`souverain.gateway.call`, the answer being produced in :mod:`souverain.gateway.answer`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from souverain.backends.base import Backend, BackendError, BackendRejected, GenerationRequest
from souverain.detect import Finding, Scanner, offload
from souverain.detect.messages import TooDeep
from souverain.gateway.answer import Answer
from souverain.gateway.call import AuditHooks, CallContext, Decision, Outcome, Refusal
from souverain.policy.content import ContentScan, Walked, scan_off_loop
from souverain.policy.placement import Candidate, Exclusion, Placement, place
from souverain.policy.pseudonymize import Pseudonymizer
from souverain.policy.routing import RoutingPlan

#: seconds a client is told to wait (``Retry-After``) while the model that would serve it loads
LOADING_RETRY_AFTER_S = 5


class Pipeline:
    def __init__(
        self,
        backends: dict[str, Backend],
        scanner: Scanner,
        hooks: AuditHooks | None = None,
        routing: Mapping[str, RoutingPlan] | None = None,
    ):
        self.backends = backends
        self.scanner = scanner
        self.hooks = hooks or AuditHooks()
        #: use case -> objective routing plan (from the latest bench results)
        self.routing: Mapping[str, RoutingPlan] = routing or {}

    async def open(self, ctx: CallContext, request: GenerationRequest) -> Answer:
        """Admit and place the request, then start the answer on the first candidate that
        produces one. Raises :class:`Refusal` (recorded) or the last :class:`BackendError`."""
        ctx.request = request
        await self.admit(ctx)
        try:
            walked = Walked(request)
            if scan_off_loop(walked):  # a large body: the event loop keeps serving meanwhile
                scanned = await offload.scan_texts(self.scanner, walked.texts())
                placement, content = await asyncio.to_thread(self.place, ctx, walked, scanned)
            else:
                placement, content = self.place(ctx, walked)
        except TooDeep as exc:
            raise await self.refuse(
                ctx, None, Refusal(400, "invalid_value", str(exc), param="messages")
            ) from None
        refusal = placement_refusal(ctx, placement, request)
        if refusal is not None:
            raise await self.refuse(ctx, placement, refusal)
        return await self.start(ctx, placement, content)

    async def record(self, outcome: Outcome) -> None:
        """Report how an attempt ended to the hooks, once (later calls for it are ignored)."""
        if outcome.ctx.recorded:
            return
        outcome.ctx.recorded = True
        await self.hooks.finish(outcome)

    # -- the steps --------------------------------------------------------------------------------
    async def admit(self, ctx: CallContext) -> None:
        """Start metering; the hooks may refuse the call before anything is scanned (budgets)."""
        self.hooks.started(ctx)
        try:
            await self.hooks.admit(ctx)
        except Refusal as refusal:
            raise await self.refuse(ctx, None, refusal) from None

    def place(
        self,
        ctx: CallContext,
        request: GenerationRequest | Walked,
        scanned: dict[str, list[Finding]] | None = None,
    ) -> tuple[Placement, ContentScan]:
        """Scan what would leave once (``scanned``: its texts' findings, scanned already) and
        decide the candidates (``only_backend``, else objective routing, narrows or reorders
        them)."""
        content = ctx.content = ContentScan(self.scanner, request, scanned)
        needs = content.needs(ctx.stream)
        placement = place(ctx.use_case, self.backends, content.findings, needs)
        if ctx.only_backend is not None:
            placement.keep_only(ctx.only_backend)
        elif (plan := self.routing.get(ctx.use_case.name)) is not None:
            ctx.note = plan.apply(placement, ctx.use_case)
        return placement, content

    async def refuse(
        self, ctx: CallContext, placement: Placement | None, refusal: Refusal
    ) -> Refusal:
        """Record the refusal; return it for the caller to raise."""
        await self.record(Outcome.refused(ctx, placement, refusal))
        return refusal

    async def start(self, ctx: CallContext, placement: Placement, content: ContentScan) -> Answer:
        """Try the candidates in order until one starts an answer.

        A candidate that fails before answering is excluded and the next one is tried; if data had
        already left for it, that attempt keeps its own row (marked failed) and the next attempt
        gets a new one."""
        last_error: BackendError | None = None
        advance = False
        for candidate in placement.candidates:
            if advance:
                ctx.next_attempt()
                advance = False
            try:
                return await self._attempt(ctx, placement, content, candidate)
            except BackendRejected:
                raise
            except BackendError as exc:
                backend = candidate.backend
                placement.excluded.append(
                    Exclusion(backend.name, "failed", f"failed: {exc.message}")
                )
                last_error = exc
                if ctx.egress_begun:  # data left: that attempt keeps its own row, marked failed
                    await self.record(Outcome.failed(ctx, placement, backend, exc))
                    advance = True
        assert last_error is not None
        if len(placement.candidates) > 1:
            tried = "; ".join(str(e) for e in placement.excluded if e.kind == "failed")
            last_error.message = f"{last_error.message} (all compliant backends failed: {tried})"
        if not ctx.recorded:
            await self.record(
                Outcome.failed(ctx, placement, placement.candidates[-1].backend, last_error)
            )
        raise last_error

    async def _attempt(
        self, ctx: CallContext, placement: Placement, content: ContentScan, candidate: Candidate
    ) -> Answer:
        """One candidate: apply its data actions, pass the egress check, start the backend."""
        backend: Backend = candidate.backend
        pz = Pseudonymizer() if candidate.pseudonymize else None
        outgoing = (
            content.pseudonymized(placement.pseudonymize_categories, pz)
            if pz is not None
            else content.request
        )
        decision: Decision = "pseudonymized" if pz is not None and len(pz) else "served"
        if pz is not None and not len(pz):
            pz = None
        if not backend.metadata.self_hosted:
            try:
                await self.hooks.before_egress(ctx, placement, backend, decision)
            except Refusal as refusal:
                raise await self.refuse(ctx, placement, refusal) from None
            ctx.egress_begun = True
        args = (ctx, placement, backend, decision, outgoing, self.record)
        try:
            if outgoing.kind == "embedding":
                answer = Answer(*args, embeddings=await backend.embed(outgoing))
            elif ctx.stream:
                rest = backend.stream(outgoing)
                first = await anext(rest, None)
                if first is None:
                    raise BackendError(backend.name, "empty answer")
                answer = Answer(*args, first=first, rest=rest, pseudonymizer=pz)
            else:
                completion = await backend.complete(outgoing)
                answer = Answer(*args, completion=completion, pseudonymizer=pz)
        except BackendRejected as exc:
            await self.record(Outcome.failed(ctx, placement, backend, exc))
            raise
        answer.ttft_s = ctx.elapsed_s()
        return answer


def placement_refusal(
    ctx: CallContext, placement: Placement, request: GenerationRequest
) -> Refusal | None:
    """Why the placement cannot serve the request (blocked data, no compliant candidate), or None."""
    if placement.blocked:
        types = ", ".join(placement.blocked_types)
        if "media" in placement.blocked_types:
            types += (
                " (images, audio, files or token arrays: content that cannot be scanned; "
                "policy media)"
            )
        return Refusal(
            403,
            "sensitive_data_blocked",
            f"the request contains data the use case {ctx.use_case.name!r} blocks: {types} "
            "(values are not shown); remove it and retry",
            type_="policy_error",
        )
    if placement.candidates:
        return None
    if placement.only_context_gaps():  # OpenAI's code for a prompt over the model's context
        return Refusal(
            400, "context_length_exceeded", placement.refusal_message(), param="messages"
        )
    if placement.only_capability_gaps():
        params = {e.param for e in placement.excluded}
        param = (
            params.pop()
            if len(params) == 1  # every candidate lacks the same one: name it
            else "tools"
            if request.uses_tools()
            else "response_format"
            if request.uses_json_mode()
            else None
        )
        return Refusal(400, "unsupported_parameter", placement.refusal_message(), param=param)
    if loading := placement.loading():
        names = ", ".join(e.backend for e in loading)
        return Refusal(
            503,
            "model_loading",
            f"the model of use case {ctx.use_case.name!r} is still loading ({names}); "
            f"retry in {LOADING_RETRY_AFTER_S} s",
            type_="service_unavailable",
            headers={"Retry-After": str(LOADING_RETRY_AFTER_S)},
            decision="failed",
        )
    return Refusal(503, "no_compliant_backend", placement.refusal_message(), type_="policy_error")
