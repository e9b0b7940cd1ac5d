"""Answers for requests no route takes: an unknown ``/v1/...`` path (404 ``unknown_endpoint``,
naming the endpoints that exist) and a known path with the wrong method (405
``method_not_allowed`` with ``Allow``). The list is read from the app's routes (its OpenAPI
description), so an endpoint added later is named without anyone listing it here."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from souverain.api.errors import APIError

PREFIX = "/v1/"


def supported_endpoints(app: Any) -> list[str]:
    """``METHOD /v1/path`` for every operation of the OpenAI surface, read from the app's OpenAPI
    description (built from its routes, once, and cached by FastAPI)."""
    paths = app.openapi().get("paths", {})
    return [
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        if path.startswith(PREFIX)
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    ]


def unknown_endpoint(request: Request) -> APIError:
    endpoints = ", ".join(supported_endpoints(request.app))
    return APIError(
        404,
        f"Unknown endpoint {request.method} {request.url.path}. This gateway serves: {endpoints}",
        code="unknown_endpoint",
    )


def method_not_allowed(request: Request, headers: dict[str, str]) -> APIError:
    allow = headers.get("Allow") or headers.get("allow") or ""
    return APIError(
        405,
        f"{request.method} is not allowed on {request.url.path}"
        + (f"; allowed: {allow}" if allow else ""),
        code="method_not_allowed",
        headers=headers,
    )
