"""A pure ASGI middleware that refuses request bodies over the configured size (413).

A body is refused when the app first reads it: at once when ``Content-Length`` already says it is
too large (no byte of it is read), else as soon as the bytes read pass the limit. Either way the
app's handler answers 413 and, for an authenticated call, writes its refused ledger row; a
response that never reads the body (an unknown path) is answered as usual."""

from __future__ import annotations

from typing import Any

import orjson

from souverain.api.errors import error_body


class BodyTooLarge(Exception):
    """Raised while reading a body over the limit; the app maps it to 413."""


def too_large_body(max_bytes: int) -> dict[str, Any]:
    return error_body(
        f"request body exceeds the limit of {max_bytes} bytes (server.max_body_bytes)",
        "invalid_request_error",
        None,
        "request_too_large",
    )


class BodySizeLimit:
    def __init__(self, app: Any, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send: Any) -> None:
        body = orjson.dumps(too_large_body(self.max_bytes))
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        declared_too_big = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared_too_big = int(value) > self.max_bytes
                except ValueError:
                    declared_too_big = False
        seen = 0
        started = False

        async def limited_receive() -> Any:
            nonlocal seen
            if declared_too_big:  # known from Content-Length: not one byte of the body is read
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(send)
