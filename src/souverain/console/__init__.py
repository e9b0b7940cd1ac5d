"""The web console at ``/ui/``: sovereignty, cost, energy, the ledger, bench results and exit
drills, for the people who answer for the AI (docs/console.md).

Served by the gateway's own app on its own port; HTML rendered on the server with charts as
inline SVG; no script, no CDN, nothing fetched (every asset is in this package, see
``static/LICENSE``). Only admin keys open it (:mod:`souverain.console.access`). The figures are
the ledger's and the report's own (:mod:`souverain.console.overview`); nothing in the gateway
imports this package.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response


def install(app: FastAPI, runtime: Any, keyring: Any) -> None:
    """Mount the console on ``app`` (state on ``app.state.console``), unless
    ``console.enabled`` is false; ``keyring`` (:class:`souverain.api.auth.KeyRing`) says which
    keys are admin keys."""
    config = runtime.config.console
    if not config.enabled:
        return
    from souverain.console.access import ConsoleAuth, console_secret
    from souverain.console.ledgerview import ChainChecks
    from souverain.console.routes import router
    from souverain.console.web import (
        ConsoleState,
        FormRejected,
        LoginRequired,
        redirect,
        render,
        templates,
    )

    def refused(request: Request, message: str) -> Response:
        context = {"title": "Refused", "message": message, "back": "/ui/", "back_label": "Back"}
        return render(request, "message.html", context, status=403)

    auth = ConsoleAuth(
        keyring,
        console_secret(),
        session_s=config.session_hours * 3600,
        idle_s=config.idle_minutes * 60,
    )
    app.state.console = ConsoleState(runtime, auth, templates(), ChainChecks())
    app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import urlencode

        if request.method != "GET":
            return refused(request, "Your session has ended: log in again.")
        query = {"next": exc.next_url} | ({"m": exc.reason} if exc.reason else {})
        return redirect("/ui/login?" + urlencode(query))

    @app.exception_handler(FormRejected)
    async def _rejected(request: Request, exc: FormRejected) -> Response:
        return refused(
            request, "This form was refused: it came from another page, or it has expired."
        )


__all__ = ["install"]
