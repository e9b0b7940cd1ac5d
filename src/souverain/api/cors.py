"""CORS for the OpenAI surface (``server.cors_origins``): browsers on the listed origins may call
``/v1/...``; with the list empty (the default) no CORS header is ever sent.

* A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is answered
  here, before authentication (a browser sends no key on a preflight): 204 with the CORS headers
  for an allowed origin, 403 ``cors_origin_not_allowed`` (OpenAI-shaped, no CORS header) for
  another one.
* An actual request from an allowed origin gets ``Access-Control-Allow-Origin`` and
  ``Access-Control-Expose-Headers`` (``X-Request-Id``, the ``X-Souverain-*`` headers,
  ``Retry-After``, ``x-ratelimit-*``) on whatever it is answered, errors included; from another
  origin it is served without CORS headers, so the browser does not hand the answer to the page.
* ``"*"`` allows every origin (``Access-Control-Allow-Origin: *``). Credentials (cookies) are
  never allowed: an API key travels in ``Authorization``, which the preflight allows.

Only ``/v1/`` paths: the console is same-origin and is never opened to another site.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from souverain.api.errors import APIError, error_response

PREFIX = "/v1/"
ALLOW_METHODS = "GET, POST, OPTIONS"
MAX_AGE_S = 600
EXPOSE = ", ".join(
    (
        "X-Request-Id",
        "X-Souverain-Backend",
        "X-Souverain-Decision",
        "X-Souverain-Use-Case",
        "Retry-After",
        *(
            f"x-ratelimit-{w}-{k}"
            for w in ("limit", "remaining", "reset")
            for k in ("requests", "tokens")
        ),
    )
)


class CORS:
    def __init__(self, app: ASGIApp, *, origins: Iterable[str]) -> None:
        self.app = app
        self.origins = frozenset(o.rstrip("/").lower() for o in origins)
        self.any = "*" in self.origins

    def allowed(self, origin: str) -> bool:
        return self.any or origin.rstrip("/").lower() in self.origins

    def _allow_headers(self, origin: str) -> dict[str, str]:
        if self.any:
            return {"Access-Control-Allow-Origin": "*"}
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(origin, headers)(scope, receive, send)
            return
        if not self.allowed(origin):
            await self.app(scope, receive, send)
            return
        extra = {**self._allow_headers(origin), "Access-Control-Expose-Headers": EXPOSE}

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                for key, value in extra.items():
                    if key == "Vary":
                        out.add_vary_header(value)
                    else:
                        out[key] = value
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _preflight(self, origin: str, headers: Headers) -> Response:
        if not self.allowed(origin):
            return error_response(
                APIError(
                    403,
                    f"the origin {origin[:200]!r} may not call this API from a browser "
                    "(server.cors_origins)",
                    code="cors_origin_not_allowed",
                )
            )
        out = {
            **self._allow_headers(origin),
            "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Max-Age": str(MAX_AGE_S),
        }
        requested = headers.get("access-control-request-headers")
        if requested:
            out["Access-Control-Allow-Headers"] = requested
            if not self.any:
                out["Vary"] = "Origin, Access-Control-Request-Headers"
        return Response(status_code=204, headers=out)
