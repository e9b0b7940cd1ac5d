"""The direct path of the OpenAI POST routes: the steps of their FastAPI routes, without
FastAPI's per-request routing, dependency solving and exception wrapping (about a quarter of
the gateway's own time per request, measured with bench/gateway_bench.py).

Only a request that can be served takes it: a ``POST`` to one of :data:`ROUTES` with a JSON
``Content-Type`` whose body parses (strictly, :mod:`souverain.api.strictjson`) and validates
into the route's wire model. Anything else -- no JSON type, a body that is not JSON or not an
object, a validation error, a body over the limit, a disconnect while reading -- is handed on
to the FastAPI app with the body replayed as it was received, so that every client error is
answered (and recorded) by the one path that answers it. A served request then runs exactly
as its route runs it: the key checked, the route's function called, an :class:`APIError`
answered with :func:`error_response`; any other exception propagates to the app's handler.

The routes are declared next to the FastAPI ones (:data:`souverain.api.openai.router.DIRECT`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from souverain.api.errors import APIError, error_response
from souverain.api.strictjson import InvalidBody, is_json_type, parse_body

#: a route's function: (runtime, principal, wire model) -> the response
Handler = Callable[[Any, Any, Any], Awaitable[Response]]


class DirectRoutes:
    """Pure ASGI: serve ``routes`` (path -> wire model, function) directly when the request
    can be served (module docstring), else hand it on to ``app``."""

    def __init__(self, app: ASGIApp, routes: Mapping[str, tuple[type[BaseModel], Handler]]):
        self.app = app
        self.routes = dict(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = (
            self.routes.get(scope["path"])
            if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path")
            else None
        )
        if route is None:
            await self.app(scope, receive, send)
            return
        authorization = content_type = None
        for name, value in scope["headers"]:
            if name == b"content-type" and content_type is None:  # the first, as Starlette reads
                content_type = value
            elif name == b"authorization" and authorization is None:
                authorization = value
        if content_type is None or not is_json_type(content_type.decode("latin-1")):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        chunks: list[bytes] = []
        try:
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request":  # the client went away: the app sees it
                    raise _HandOn
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            model, handler = route
            value = parse_body(b"".join(chunks))
            if type(value) is not dict:
                raise _HandOn
            wire = model.model_validate(value)
        except (_HandOn, InvalidBody, ValidationError):
            await self.app(scope, _replay(messages, None, receive), send)
            return
        except Exception as exc:  # raised while reading (the body is over the limit)
            await self.app(scope, _replay(messages, exc, receive), send)
            return
        state = scope["app"].state
        try:
            principal = state.keyring.authenticate(
                authorization.decode("latin-1") if authorization is not None else None
            )
            response = await handler(state.runtime, principal, wire)
        except APIError as exc:
            response = error_response(exc)
        await response(scope, receive, send)


class _HandOn(Exception):
    """The request is the FastAPI app's to answer."""


def _replay(messages: list[Message], error: Exception | None, receive: Receive) -> Receive:
    """``receive`` as it was before ``messages`` were taken from it (then ``error`` again, if
    reading raised it)."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        if error is not None:
            raise error
        return await receive()

    return replayed
