"""Authenticate before the body is read: an unauthenticated caller gets 401, never a 400 or 413
that would tell it how its body was parsed (and costs the gateway no parsing).

A pure ASGI middleware for ``/v1/`` requests: the key is checked from the headers alone, and the
routes check it again (with the principal they need). 401s are counted in
``souverain_unauthenticated_total`` and never written to the ledger, so a flood of bad keys
cannot fill it.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from souverain.api.auth import KeyRing
from souverain.api.errors import APIError, error_response


class AuthFirst:
    def __init__(self, app: ASGIApp, *, prefix: str = "/v1/") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        state: Any = scope["app"].state if "app" in scope else None
        keyring: KeyRing | None = getattr(state, "keyring", None) if state else None
        if keyring is not None and keyring.configured:
            authorization = None
            for name, value in scope.get("headers", ()):
                if name == b"authorization":
                    authorization = value.decode("latin-1")
                    break
            try:
                keyring.authenticate(authorization)
            except APIError as exc:
                runtime = getattr(state, "runtime", None)
                if runtime is not None:
                    runtime.metrics.unauthenticated.labels(exc.code or "unauthenticated").inc()
                await error_response(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)
