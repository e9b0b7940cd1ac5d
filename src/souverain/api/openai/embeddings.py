"""POST /v1/embeddings: the same pipeline as a generation (use case, content policy, placement,
ledger row, budgets, rate limits), answered as OpenAI does: one vector per input, as floats or as
base64 of little-endian float32."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import orjson
from starlette.responses import Response

from souverain.api.auth import Principal
from souverain.api.openai.early import new_request_id
from souverain.api.openai.protocol import EmbeddingRequest
from souverain.api.openai.serving import (
    admitted,
    answer_headers,
    backend_error,
    refusal_error,
)
from souverain.backends.base import BackendError, Embeddings, GenerationRequest
from souverain.gateway.call import CallContext, Refusal
from souverain.gateway.runtime import Runtime

#: backend error codes that are about the client's input (its param is ``input``)
INPUT_ERRORS = frozenset({"context_length_exceeded", "invalid_value"})


def embedding_request(req: EmbeddingRequest, request_id: str) -> GenerationRequest:
    return GenerationRequest(
        kind="embedding", input=req.input, dimensions=req.dimensions, request_id=request_id
    )


def encode(vector: list[float], encoding_format: str) -> list[float] | str:
    if encoding_format == "base64":
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
    return vector


def embeddings_body(emb: Embeddings, model: str, encoding_format: str) -> dict[str, Any]:
    data = []
    for i, vector in enumerate(emb.vectors):
        data.append(
            {"object": "embedding", "index": i, "embedding": encode(vector, encoding_format)}
        )
    tokens = emb.usage.prompt_tokens
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


async def embed(runtime: Runtime, principal: Principal, wire: EmbeddingRequest) -> Response:
    request_id = new_request_id("embedding")
    use_case, greq, admission = await admitted(
        runtime,
        principal,
        request_id=request_id,
        model=wire.model,
        build=lambda: embedding_request(wire, request_id),
        operation="embeddings",
    )
    ctx = CallContext(request_id, use_case, principal.name)
    tokens = 0
    try:
        answer = await runtime.pipeline.open(ctx, greq)
        emb = await answer.finish_embeddings()
        tokens = emb.usage.prompt_tokens
    except Refusal as ref:
        raise refusal_error(ref, use_case.name, request_id) from None
    except BackendError as exc:
        err = backend_error(exc, use_case.name, request_id)
        if exc.code in INPUT_ERRORS:
            err.param = "input"
        elif exc.code == "unsupported_parameter":
            err.param = "dimensions"
        raise err from None
    finally:
        runtime.limiter.spend_soon(admission, tokens)
    body = embeddings_body(emb, answer.backend_name, wire.encoding_format)
    headers = {**answer_headers(answer, use_case.name), **admission.headers()}
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)
