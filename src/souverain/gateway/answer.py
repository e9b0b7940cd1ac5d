"""An answer being produced by the backend the pipeline chose: restored (pseudonymised values put
back), and recorded exactly once when it completes, fails or the client goes away."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from souverain.backends.base import (
    Backend,
    BackendError,
    Completion,
    Embeddings,
    GenerationRequest,
    StreamEvent,
    Usage,
    estimate_prompt_tokens,
    estimate_tokens,
)
from souverain.gateway.call import CallContext, Decision, Outcome, Refusal
from souverain.policy.placement import Placement
from souverain.policy.pseudonymize import Pseudonymizer, StreamRestorer

#: Records an outcome (the pipeline's :meth:`~souverain.gateway.pipeline.Pipeline.record`).
Recorder = Callable[[Outcome], Awaitable[None]]


class Sent:
    """What a stream sent its client so far, to meter an answer the client left early."""

    __slots__ = ("chars", "chunks")

    def __init__(self) -> None:
        self.chunks = 0
        self.chars = 0

    def add(self, event: StreamEvent) -> None:
        self.chunks += 1
        self.chars += len(event.text)
        for delta in event.tool_calls or ():
            self.chars += len(str((delta.get("function") or {}).get("arguments") or ""))

    def usage(self, request: GenerationRequest) -> Usage:
        """Estimated: a backend streams about one token a chunk (llama.cpp, most APIs)."""
        return Usage(
            estimate_prompt_tokens(request),
            max(self.chunks, estimate_tokens(self.chars)),
            estimated=True,
        )


class Answer:
    """Iterate :meth:`events` exactly once (streamed), or await :meth:`finish_completion`."""

    def __init__(
        self,
        ctx: CallContext,
        placement: Placement,
        backend: Backend,
        decision: Decision,
        request: GenerationRequest,
        record: Recorder,
        *,
        first: StreamEvent | None = None,
        rest: AsyncIterator[StreamEvent] | None = None,
        completion: Completion | None = None,
        embeddings: Embeddings | None = None,
        pseudonymizer: Pseudonymizer | None = None,
    ):
        self.ctx, self.placement, self.backend = ctx, placement, backend
        self.decision, self.request = decision, request
        self._record = record
        self._first, self._rest, self.completion = first, rest, completion
        self.embeddings = embeddings
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
        # logprobs are the upstream's tokens: its placeholders are left in them
        return Completion(self._pz.restore(c.text), c.finish_reason, c.usage, calls, c.logprobs)

    async def finish_completion(self) -> Completion:
        """Non-streamed: record and return the (restored) completion."""
        comp = self.restored_completion()
        await self._completed(comp.usage, comp.finish_reason, comp.text)
        return comp

    async def finish_embeddings(self) -> Embeddings:
        """An embeddings answer: record and return the vectors (never pseudonymised: placement
        keeps such requests on self-hosted backends)."""
        assert self.embeddings is not None and self._pz is None
        await self._completed(self.embeddings.usage, "stop", "")
        return self.embeddings

    async def _completed(self, usage: Usage, finish_reason: str, text: str) -> None:
        await self._record(
            Outcome.completed(
                self.ctx,
                self.placement,
                self.backend,
                self.decision,
                usage=usage,
                ttft_s=self.ttft_s,
                finish_reason=finish_reason,
                answer_text=text,
            )
        )

    async def _failed(self, exc: BackendError, usage: Usage, code: str | None = None) -> None:
        await self._record(
            Outcome.failed(self.ctx, self.placement, self.backend, exc, usage, code=code)
        )

    async def events(self) -> AsyncIterator[StreamEvent]:
        """Streamed: yield restored events; the final one (finish + usage) only after recording."""
        restorer = StreamRestorer(self._pz) if self._pz is not None else None
        arg_restorers: dict[int, StreamRestorer] = {}
        usage, finish = Usage(), None
        ok = False
        parts: list[str] = []
        sent = Sent()
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
                        # the arguments' held-back tails (a placeholder straddling the
                        # last chunks) go out before the finish, each under its call's index
                        tails = [
                            {"index": index, "function": {"arguments": tail}}
                            for index, r in sorted(arg_restorers.items())
                            if (tail := r.flush())
                        ]
                        if tails:
                            tail_event = StreamEvent(tool_calls=tails)
                            sent.add(tail_event)
                            yield tail_event
                    ok = True
                    await self._completed(usage, finish, "".join(parts))
                    yield StreamEvent(finish_reason=finish, usage=usage)
                    return
                if restorer is not None:
                    if event.text:
                        event = StreamEvent(
                            text=restorer.feed(event.text),
                            tool_calls=event.tool_calls,
                            logprobs=event.logprobs,
                        )
                    if event.tool_calls:
                        event.tool_calls = [
                            self._restore_call(d, arg_restorers) for d in event.tool_calls
                        ]
                if event.text or event.tool_calls or event.logprobs:
                    if event.text:
                        parts.append(event.text)
                    sent.add(event)
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
                if not self.ctx.recorded:
                    await self._disconnected(usage, sent)

    async def _disconnected(self, usage: Usage, sent: Sent) -> None:
        """The client left mid-stream: meter what was produced until then (budgets count it)."""
        so_far = usage if usage.total_tokens else sent.usage(self.request)
        how = (
            "tokens estimated: prompt ~4 characters a token, completion the larger of the "
            "chunks sent and ~4 characters a token"
            if so_far.estimated
            else "tokens as the backend counted them"
        )
        exc = BackendError(
            self.backend.name, f"client disconnected after {sent.chunks} chunk(s); {how}"
        )
        with contextlib.suppress(Refusal):  # the ledger is unavailable (logged); nobody to tell
            await self._failed(exc, so_far, "client_disconnected")

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
