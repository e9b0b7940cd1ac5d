"""The console's HTTP plumbing: its state on the app, page rendering, security headers, the
session gate and form reading. The routes (:mod:`souverain.console.routes`) stay thin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import Request
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from souverain.console.access import COOKIE_PATH, SESSION_COOKIE, ConsoleAuth, Session
from souverain.console.fmt import FILTERS
from souverain.console.ledgerview import ChainChecks

NAV = (
    ("/ui/", "Overview"),
    ("/ui/use-cases", "Use cases"),
    ("/ui/ledger", "Ledger"),
    ("/ui/bench", "Bench & advisor"),
    ("/ui/drills", "Exit drills"),
)
#: no script at all, styles and images from the console itself only, forms only to itself
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    """No live session: the app answers with a redirect to the login form."""

    def __init__(self, next_url: str, reason: str | None) -> None:
        self.next_url = next_url
        self.reason = reason


class FormRejected(Exception):
    """A state change without a valid CSRF token, or from another origin: 403."""


def templates() -> Environment:
    env = Environment(
        loader=PackageLoader("souverain.console", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.globals["urlencode"] = urlencode
    return env


@dataclass
class ConsoleState:
    """What the console keeps on ``app.state.console``."""

    runtime: Any
    auth: ConsoleAuth
    env: Environment
    chains: ChainChecks


def state(request: Request) -> ConsoleState:
    found: ConsoleState = request.app.state.console
    return found


def secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def is_tls(request: Request) -> bool:
    """Whether the client reached us over TLS (uvicorn applies ``X-Forwarded-Proto`` from
    trusted proxies to the scheme)."""
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, value: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=is_tls(request),
    )


def require_session(request: Request) -> Session:
    """The request's live session, or :class:`LoginRequired`."""
    found, why = state(request).auth.session(request.cookies.get(SESSION_COOKIE))
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target, why)
    return found


def same_origin(request: Request) -> bool:
    """A form post's ``Origin`` (or ``Referer``) names this host -- as the client reached it:
    ``Host``, or ``X-Forwarded-Host`` from a reverse proxy -- or is absent."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True
    hosts = {request.headers.get("host", "")}
    hosts |= {h.strip() for h in request.headers.get("x-forwarded-host", "").split(",")}
    return origin != "null" and urlsplit(origin).netloc in hosts - {""}


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (the console's forms), first value each."""
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


async def checked_form(request: Request, session: Session) -> dict[str, str]:
    """The form of a state change, after its origin and CSRF token were checked."""
    form = await read_form(request)
    if not same_origin(request) or not state(request).auth.check_csrf(session, form.get("csrf")):
        raise FormRejected
    return form


def safe_next(value: str | None) -> str:
    """Where to go after login: a console path only (never another site)."""
    if value and value.startswith("/ui/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui/"


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    session: Session | None = None,
    status: int = 200,
) -> Response:
    st = state(request)
    page = st.env.get_template(template).render(
        nav=NAV,
        current=request.url.path,
        session=session,
        csrf=st.auth.csrf_token(session) if session is not None else "",
        **context,
    )
    response = secured(HTMLResponse(page, status))
    if session is not None:  # each page moves the idle timeout
        set_session_cookie(response, request, st.auth.refreshed(session), int(st.auth.session_s))
    return response


def redirect(url: str) -> Response:
    return secured(RedirectResponse(url, 303))
