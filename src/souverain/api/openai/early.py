"""Requests refused before the pipeline -- a body that does not parse or validate, an unknown
model, a use case the key may not use, an unsupported parameter, a body too large -- still get
their one ledger row (refused, with the status and code the client saw), so that the ledger
counts every authenticated request. Unauthenticated 401s never get one (AuthFirst answers them
before any of this; they are counted in ``souverain_unauthenticated_total``)."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request

from souverain.api.auth import authenticate
from souverain.api.errors import APIError
from souverain.gateway.call import ClientError, Refusal
from souverain.gateway.runtime import Runtime

#: the generation endpoints and their operation (OTel gen_ai.operation.name)
OPERATIONS = {
    "/v1/chat/completions": "chat",
    "/v1/completions": "text_completion",
    "/v1/embeddings": "embeddings",
    "/v1/responses": "responses",
}
#: request id prefixes by request kind
ID_PREFIX = {"chat": "chatcmpl-", "embedding": "embd-", "response": "resp_"}


def new_request_id(kind: str) -> str:
    return f"{ID_PREFIX.get(kind, 'cmpl-')}{secrets.token_hex(12)}"


async def record(
    runtime: Runtime,
    err: APIError,
    *,
    request_id: str,
    api_key_name: str | None,
    operation: str | None,
    model: Any = None,
    stream: bool = False,
) -> APIError:
    """Write the refused row of ``err``; return the error to answer (503 ledger_unavailable
    when the row cannot be written)."""
    requested = model if isinstance(model, str) else None
    use_case = requested if requested in runtime.config.use_case_names else None
    err.headers.setdefault("X-Request-Id", request_id)
    try:
        await runtime.hooks.client_error(
            ClientError(
                request_id=request_id,
                status=err.status,
                code=err.code,
                message=err.message,
                api_key_name=api_key_name,
                operation=operation,
                requested_model=requested,
                use_case=use_case,
                stream=stream,
            )
        )
    except Refusal as ref:
        return APIError(
            ref.status,
            ref.message,
            code=ref.code,
            type_=ref.type,
            headers={**ref.headers, "X-Request-Id": request_id},
        )
    return err


async def record_from_request(request: Request, err: APIError, body: Any = None) -> APIError:
    """For the app's error handlers: record ``err`` when ``request`` is an authenticated call of
    a generation endpoint (``body``: what was parsed of it, if anything)."""
    operation = OPERATIONS.get(request.url.path)
    if request.method != "POST" or operation is None:
        return err
    try:
        principal = authenticate(request)
    except APIError:
        return err
    fields = body if isinstance(body, dict) else {}
    return await record(
        request.app.state.runtime,
        err,
        request_id=new_request_id(
            {"chat": "chat", "embeddings": "embedding", "responses": "response"}.get(
                operation, "completion"
            )
        ),
        api_key_name=principal.name,
        operation=operation,
        model=fields.get("model"),
        stream=fields.get("stream") is True,
    )
