"""The OpenAI surface's logic: resolve the use case, build the backend request, run the pipeline,
shape the answer (JSON or SSE). Routes (router.py) only call these functions."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

from souverain.api.auth import Principal
from souverain.api.errors import APIError, error_body
from souverain.api.openai import early
from souverain.api.openai.early import new_request_id
from souverain.api.openai.params import check_documented
from souverain.api.openai.protocol import (
    ChatCompletionRequest,
    CompletionRequest,
)
from souverain.backends.base import BackendError, GenerationRequest
from souverain.config.models import UseCaseConfig
from souverain.gateway.answer import Answer
from souverain.gateway.call import CallContext, Refusal
from souverain.gateway.runtime import Runtime
from souverain.limits import Admission, LimiterUnavailable, RateLimited

MESSAGE_FIELDS = ("role", "content", "name", "tool_calls", "tool_call_id")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def model_object(use_case: UseCaseConfig) -> dict[str, Any]:
    """A use case as OpenAI's model object (GET /v1/models and /v1/models/{id})."""
    return {
        "id": use_case.name,
        "object": "model",
        "created": 0,
        "owned_by": "souverain",
        "description": use_case.description,
    }


def _allowed(runtime: Runtime, principal: Principal) -> str:
    return ", ".join(u for u in runtime.config.use_case_names if principal.may_use(u))


def _lookup(runtime: Runtime, model: str) -> UseCaseConfig | None:
    try:
        return runtime.config.use_case(model)
    except KeyError:
        return None


def model_not_found(runtime: Runtime, principal: Principal, model: str) -> APIError:
    return APIError(
        404,
        f"The model {model!r} does not exist. In souverain a model is a use case; "
        f"valid names: {_allowed(runtime, principal) or '(none for this key)'}",
        code="model_not_found",
        param="model",
    )


def visible_use_case(runtime: Runtime, principal: Principal, model: str) -> UseCaseConfig:
    """The use case ``model`` names when this key may use it (GET /v1/models/{id}); else 404,
    as OpenAI answers for a model the key cannot see: GET /v1/models does not list it either."""
    use_case = _lookup(runtime, model)
    if use_case is None or not principal.may_use(model):
        raise model_not_found(runtime, principal, model)
    return use_case


def resolve_use_case(runtime: Runtime, principal: Principal, model: str) -> UseCaseConfig:
    use_case = _lookup(runtime, model)
    if use_case is not None and principal.may_use(model):
        return use_case
    if use_case is None:
        raise model_not_found(runtime, principal, model)
    allowed = _allowed(runtime, principal)
    raise APIError(
        403,
        f"this API key may not use {model!r}; it may use: {allowed or 'nothing'}",
        code="use_case_not_allowed",
        param="model",
    )


def _unsupported(param: str, message: str) -> APIError:
    return APIError(400, message, code="unsupported_parameter", param=param)


def check_common(req: ChatCompletionRequest | CompletionRequest) -> None:
    if req.stream_options is not None and not req.stream:  # as OpenAI and vLLM answer it
        raise APIError(
            400,
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            code="invalid_value",
            param="stream_options",
        )
    if req.n is not None and req.n > 1:
        raise _unsupported("n", "n > 1 is not supported: send one request per completion")


def chat_request(req: ChatCompletionRequest, request_id: str) -> GenerationRequest:
    check_common(req)
    check_documented(req.model_extra or {})
    if req.top_logprobs is not None and not req.logprobs:
        raise APIError(
            400,
            "top_logprobs needs logprobs: true",
            code="invalid_value",
            param="top_logprobs",
        )
    messages = [
        {k: v for k, v in m.model_dump(exclude_none=True).items() if k in MESSAGE_FIELDS}
        for m in req.messages
    ]
    return GenerationRequest(
        kind="chat",
        messages=messages,
        **req.generation_params(),
        logprobs=True if req.logprobs else None,
        top_logprobs=req.top_logprobs if req.logprobs else None,
        request_id=request_id,
    )


def completion_request(req: CompletionRequest, request_id: str) -> GenerationRequest:
    check_common(req)
    if req.echo:
        raise _unsupported("echo", "echo is not supported")
    if req.suffix:
        raise _unsupported("suffix", "suffix (insertion) is not supported")
    if req.best_of is not None and req.best_of > 1:
        raise _unsupported("best_of", "best_of > 1 is not supported")
    prompt = req.prompt
    if isinstance(prompt, list):
        if len(prompt) != 1:
            raise _unsupported("prompt", "a list prompt must hold exactly one string")
        prompt = prompt[0]
    return GenerationRequest(
        kind="completion",
        prompt=prompt,
        **req.generation_params(),
        logprobs=True if req.logprobs is not None else None,
        top_logprobs=req.logprobs,
        request_id=request_id,
    )


def response_headers(
    decision: str, use_case: str, request_id: str, backend: str | None = None
) -> dict[str, str]:
    """The X-Souverain-* and X-Request-Id headers every answer of the pipeline carries
    (served, refused or failed): the one place they are spelled."""
    headers = {"X-Souverain-Backend": backend} if backend is not None else {}
    headers |= {
        "X-Souverain-Decision": decision,
        "X-Souverain-Use-Case": use_case,
        "X-Request-Id": request_id,
    }
    return headers


def answer_headers(answer: Answer, use_case: str) -> dict[str, str]:
    return response_headers(answer.decision, use_case, answer.ctx.request_id, answer.backend_name)


def refusal_error(ref: Refusal, use_case: str, request_id: str) -> APIError:
    headers = response_headers(ref.decision, use_case, request_id) | ref.headers
    return APIError(
        ref.status, ref.message, code=ref.code, param=ref.param, type_=ref.type, headers=headers
    )


def backend_error(exc: BackendError, use_case: str, request_id: str) -> APIError:
    headers = response_headers("failed", use_case, request_id, exc.backend)
    if exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return APIError(exc.status, str(exc), code=exc.code, param=exc.param, headers=headers)


async def admit(runtime: Runtime, principal: Principal, use_case: str) -> Admission:
    """Count the request against its key's and use case's rate limits (429 ``rate_limited``
    over a limit; 503 ``rate_limiter_unavailable`` when the shared counters cannot be reached,
    unless ``limits.fail_open``). Rate-limited requests write no ledger row (like 401s)."""
    try:
        return await runtime.limiter.admit(principal.name, principal.limits, use_case)
    except RateLimited as exc:
        runtime.metrics.refusals.labels(use_case, "rate_limited").inc()
        raise APIError(
            429,
            str(exc),
            code="rate_limited",
            headers={**exc.headers, "X-Souverain-Use-Case": use_case},
        ) from None
    except LimiterUnavailable:
        runtime.metrics.refusals.labels(use_case, "rate_limiter_unavailable").inc()
        raise APIError(
            503,
            "the rate-limit counters cannot be reached, so this request cannot be counted; "
            "retry later",
            code="rate_limiter_unavailable",
            headers={"Retry-After": "1"},
        ) from None


async def admitted(
    runtime: Runtime,
    principal: Principal,
    *,
    request_id: str,
    model: str,
    build: Callable[[], GenerationRequest],
    operation: str,
    stream: bool = False,
) -> tuple[UseCaseConfig, GenerationRequest, Admission]:
    """Resolve the use case, build the backend request and admit it under the rate limits; an
    error here (404, 403, 400, 429) is answered with its one refused row."""
    try:
        use_case = resolve_use_case(runtime, principal, model)
        greq = build()
        admission = await admit(runtime, principal, use_case.name)
    except APIError as err:
        raise await early.record(
            runtime,
            err,
            request_id=request_id,
            api_key_name=principal.name,
            operation=operation,
            model=model,
            stream=stream,
        ) from None
    return use_case, greq, admission


def _tokens(answer: Answer) -> int:
    rec = answer.ctx.audit
    return (rec.prompt_tokens or 0) + (rec.completion_tokens or 0) if rec is not None else 0


async def generate(
    runtime: Runtime, principal: Principal, wire: ChatCompletionRequest | CompletionRequest
) -> Response:
    kind = "chat" if isinstance(wire, ChatCompletionRequest) else "completion"
    request_id = new_request_id(kind)
    stream = bool(wire.stream)
    use_case, greq, admission = await admitted(
        runtime,
        principal,
        request_id=request_id,
        model=wire.model,
        build=lambda: (
            chat_request(wire, request_id)
            if isinstance(wire, ChatCompletionRequest)
            else completion_request(wire, request_id)
        ),
        operation="chat" if kind == "chat" else "text_completion",
        stream=stream,
    )
    ctx = CallContext(request_id, use_case, principal.name, stream=stream)
    answer = await open_answer(runtime, ctx, greq)
    created = int(time.time())
    headers = {**answer_headers(answer, use_case.name), **admission.headers()}
    if not stream:
        comp = await finish_answer(runtime, admission, answer)
        body = completion_body(kind, request_id, created, answer.backend_name, comp)
        return Response(orjson.dumps(body), media_type="application/json", headers=headers)
    include_usage = bool(wire.stream_options and wire.stream_options.include_usage)
    return StreamingResponse(
        counted(runtime, admission, answer, sse_stream(kind, answer, created, include_usage)),
        media_type="text/event-stream",
        headers={**SSE_HEADERS, **headers},
    )


def _same(err: APIError) -> APIError:
    return err


async def open_answer(
    runtime: Runtime,
    ctx: CallContext,
    greq: GenerationRequest,
    translate: Callable[[APIError], APIError] = _same,
) -> Answer:
    """The pipeline's answer to an admitted request; a refusal or a backend failure as the
    client's error (``translate``: an endpoint's own terms for the places it names)."""
    try:
        return await runtime.pipeline.open(ctx, greq)
    except Refusal as ref:
        raise translate(refusal_error(ref, ctx.use_case.name, ctx.request_id)) from None
    except BackendError as exc:
        raise translate(backend_error(exc, ctx.use_case.name, ctx.request_id)) from None


async def finish_answer(
    runtime: Runtime,
    admission: Admission,
    answer: Answer,
    translate: Callable[[APIError], APIError] = _same,
) -> Any:
    """The whole completion of a non-streamed answer (released only once its row committed),
    its tokens then counted against the key's and use case's ``tpm``."""
    name, request_id = answer.ctx.use_case.name, answer.ctx.request_id
    try:
        return await answer.finish_completion()
    except BackendError as exc:
        raise translate(backend_error(exc, name, request_id)) from None
    except Refusal as ref:  # the row could not be written: the answer is withheld
        raise refusal_error(ref, name, request_id) from None
    finally:
        runtime.limiter.spend_soon(admission, _tokens(answer))


async def counted(
    runtime: Runtime, admission: Admission, answer: Answer, chunks: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    """The stream, then its tokens added to the key's and use case's ``tpm`` counters."""
    try:
        async for chunk in chunks:
            yield chunk
    finally:
        runtime.limiter.spend_soon(admission, _tokens(answer))


def completion_body(
    kind: str, request_id: str, created: int, model: str, comp: Any
) -> dict[str, Any]:
    finish = comp.finish_reason if comp.finish_reason != "cancelled" else "stop"
    if kind == "chat":
        message: dict[str, Any] = {"role": "assistant", "content": comp.text}
        if comp.tool_calls:
            message["tool_calls"] = comp.tool_calls
            if not comp.text:
                message["content"] = None
        choice: dict[str, Any] = {
            "index": 0,
            "message": message,
            "logprobs": wire_logprobs(kind, comp.logprobs),
            "finish_reason": finish,
        }
        obj = "chat.completion"
    else:
        lp = wire_logprobs(kind, comp.logprobs)
        choice = {"index": 0, "text": comp.text, "logprobs": lp, "finish_reason": finish}
        obj = "text_completion"
    return {
        "id": request_id,
        "object": obj,
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [choice],
        "usage": comp.usage.as_dict(),
    }


def wire_logprobs(kind: str, entries: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """Logprobs entries as the answer spells them: chat ``{"content": [...], "refusal": None}``,
    a completion's parallel lists (``tokens``, ``token_logprobs``, ``top_logprobs``,
    ``text_offset``). None when the request asked for none."""
    if entries is None:
        return None
    if kind == "chat":
        return {"content": entries, "refusal": None}
    offsets, at = [], 0
    for e in entries:
        offsets.append(at)
        at += len(e["token"])
    return {
        "tokens": [e["token"] for e in entries],
        "token_logprobs": [e["logprob"] for e in entries],
        "top_logprobs": [
            {t["token"]: t["logprob"] for t in e.get("top_logprobs") or []} for e in entries
        ],
        "text_offset": offsets,
    }


async def sse_stream(
    kind: str, answer: Answer, created: int, include_usage: bool
) -> AsyncIterator[bytes]:
    """Frame the answer as OpenAI SSE: same id everywhere, role only in the first delta,
    finish_reason exactly once, optional usage chunk, then ``data: [DONE]``."""
    obj = "chat.completion.chunk" if kind == "chat" else "text_completion"
    head = orjson.dumps(
        {
            "id": answer.ctx.request_id,
            "object": obj,
            "created": created,
            "model": answer.backend_name,
            "system_fingerprint": None,
        }
    )[:-1]
    usage_null = b',"usage":null' if include_usage else b""
    first = True

    def chunk(choice: dict[str, Any]) -> bytes:
        return (
            b"data: " + head + b',"choices":[' + orjson.dumps(choice) + b"]" + usage_null + b"}\n\n"
        )

    try:
        async for ev in answer.events():
            if ev.finish_reason is not None:
                finish = "stop" if ev.finish_reason == "cancelled" else ev.finish_reason
                if kind == "chat":
                    delta: dict[str, Any] = {"role": "assistant", "content": ""} if first else {}
                    yield chunk(
                        {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                    )
                else:
                    yield chunk({"index": 0, "text": "", "logprobs": None, "finish_reason": finish})
                if include_usage and ev.usage is not None:
                    yield (
                        b"data: "
                        + head
                        + b',"choices":[],"usage":'
                        + orjson.dumps(ev.usage.as_dict())
                        + b"}\n\n"
                    )
                break
            if kind == "chat":
                delta = {"role": "assistant"} if first else {}
                if ev.text or first:
                    delta["content"] = ev.text if ev.text or not ev.tool_calls else None
                if ev.tool_calls:
                    delta["tool_calls"] = ev.tool_calls
                lp = wire_logprobs(kind, ev.logprobs)
                yield chunk({"index": 0, "delta": delta, "logprobs": lp, "finish_reason": None})
            else:
                lp = wire_logprobs(kind, ev.logprobs)
                yield chunk({"index": 0, "text": ev.text, "logprobs": lp, "finish_reason": None})
            first = False
    except BackendError as exc:
        err = error_body(str(exc), "upstream_error", None, exc.code)
        yield b"data: " + orjson.dumps(err) + b"\n\n"
    except Refusal as ref:  # the row could not be written: the stream ends without its finish
        yield b"data: " + orjson.dumps(error_body(ref.message, ref.type, None, ref.code)) + b"\n\n"
    yield b"data: [DONE]\n\n"
