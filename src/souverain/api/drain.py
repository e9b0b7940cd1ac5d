"""Graceful shutdown: SIGTERM drains the gateway before it exits.

On the first SIGTERM ``souverain serve``:

1. turns ``/readyz`` to 503 (``{"status": "draining"}``) so that load balancers stop sending work,
   while ``/healthz`` stays 200 (the process is alive: no liveness restart);
2. answers every new request 503 ``shutting_down`` (OpenAI-shaped, ``Retry-After: 1``,
   ``Connection: close``), which a load balancer may retry on another replica;
3. lets the requests in flight, streams included, finish, for up to ``server.drain_s`` seconds;
4. then stops as uvicorn does (closes the sockets, the ledger, the backends) and exits 0.

A second SIGTERM, or SIGINT (Ctrl-C), skips the wait. :class:`Drain` is the app's state
(``app.state.drain``), :class:`DrainGuard` the ASGI middleware that counts and refuses requests,
:class:`DrainingServer` the uvicorn server that waits for them.
"""

from __future__ import annotations

import logging
import signal
import time
from types import FrameType

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from souverain.api.errors import APIError, error_response

log = logging.getLogger("souverain.drain")
#: answered while draining (probes and the scrape), and not counted as work in flight
OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class Drain:
    """Whether the gateway is draining, and how many requests are in flight."""

    def __init__(self, drain_s: float) -> None:
        self.drain_s = drain_s
        self.draining = False
        self.in_flight = 0
        self.deadline = 0.0

    def start(self) -> None:
        if not self.draining:
            self.draining = True
            self.deadline = time.monotonic() + self.drain_s

    def done(self) -> bool:
        """Drained: nothing in flight any more, or ``drain_s`` is over."""
        return self.draining and (self.in_flight == 0 or time.monotonic() >= self.deadline)


class DrainGuard:
    """Counts the requests in flight (until their last byte is sent) and refuses new ones with
    503 ``shutting_down`` while draining."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        drain: Drain | None = getattr(scope["app"].state, "drain", None) if "app" in scope else None
        if scope["type"] != "http" or drain is None or scope.get("path") in OPS_PATHS:
            await self.app(scope, receive, send)
            return
        if drain.draining:
            err = APIError(
                503,
                "this gateway replica is shutting down; retry (another replica will answer)",
                code="shutting_down",
                headers={"Retry-After": "1", "Connection": "close"},
            )
            await error_response(err)(scope, receive, send)
            return
        drain.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            drain.in_flight -= 1


class DrainingServer(uvicorn.Server):
    """uvicorn's server, with SIGTERM first draining ``drain`` (see the module docstring)."""

    def __init__(self, config: uvicorn.Config, drain: Drain) -> None:
        super().__init__(config)
        self.drain = drain

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM and not self.drain.draining:
            self.drain.start()
            log.warning(
                "SIGTERM: draining (readyz 503, new requests refused); %d request(s) in flight, "
                "waiting up to %g s",
                self.drain.in_flight,
                self.drain.drain_s,
            )
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self.drain.done():
            if self.drain.in_flight:
                log.warning(
                    "drain: server.drain_s is over with %d request(s) in flight; stopping",
                    self.drain.in_flight,
                )
            return True
        return await super().on_tick(counter)
