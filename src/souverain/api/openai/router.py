"""Thin routes of the OpenAI surface: authenticate, hand over to serving, nothing else."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import Response

from souverain.api.auth import authenticate
from souverain.api.openai import embeddings, responses, serving
from souverain.api.openai.protocol import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
)
from souverain.api.openai.responses_protocol import ResponsesRequest
from souverain.api.strictjson import StrictJSONRoute

router = APIRouter(prefix="/v1", tags=["openai"], route_class=StrictJSONRoute)
#: the POST routes below, served by api/fastpath.py when the body validates (the same steps)
DIRECT: dict[str, tuple[type[BaseModel], Any]] = {
    "/v1/chat/completions": (ChatCompletionRequest, serving.generate),
    "/v1/completions": (CompletionRequest, serving.generate),
    "/v1/embeddings": (EmbeddingRequest, embeddings.embed),
    "/v1/responses": (ResponsesRequest, responses.respond),
}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": desc}
    for code, desc in {
        400: "invalid request",
        401: "missing or invalid API key",
        403: "use case not granted, or data blocked",
        404: "unknown model (use case)",
        413: "body too large",
        429: "queue full or budget exceeded",
        502: "backend failed",
        503: "no compliant backend",
        504: "backend timed out",
    }.items()
}


@router.get("/models")
async def list_models(request: Request) -> dict[str, Any]:
    runtime = request.app.state.runtime
    principal = authenticate(request)
    data = [serving.model_object(u) for u in runtime.config.use_cases if principal.may_use(u.name)]
    return {"object": "list", "data": data}


@router.get("/models/{model:path}", responses={404: {"description": "unknown model"}})
async def retrieve_model(request: Request, model: str) -> dict[str, Any]:
    runtime = request.app.state.runtime
    principal = authenticate(request)
    return serving.model_object(serving.visible_use_case(runtime, principal, model))


@router.post("/chat/completions", responses=ERRORS)
async def chat_completions(request: Request, body: ChatCompletionRequest) -> Response:
    runtime = request.app.state.runtime
    principal = authenticate(request)
    return await serving.generate(runtime, principal, body)


@router.post("/completions", responses=ERRORS)
async def completions(request: Request, body: CompletionRequest) -> Response:
    runtime = request.app.state.runtime
    principal = authenticate(request)
    return await serving.generate(runtime, principal, body)


@router.post("/embeddings", responses=ERRORS)
async def create_embeddings(request: Request, body: EmbeddingRequest) -> Response:
    runtime = request.app.state.runtime
    principal = authenticate(request)
    return await embeddings.embed(runtime, principal, body)


@router.post("/responses", responses=ERRORS)
async def create_response(request: Request, body: ResponsesRequest) -> Response:
    runtime = request.app.state.runtime
    principal = authenticate(request)
    return await responses.respond(runtime, principal, body)
