"""The console's routes under ``/ui/``: each reads its inputs, asks the page modules, renders.

Every page and the export need a live session (:func:`~souverain.console.web.require_session`);
every POST a CSRF token (:func:`~souverain.console.web.checked_form`). Only the login form and the
stylesheet are served without one.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from importlib.resources import files
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response, StreamingResponse

from souverain.console.access import (
    COOKIE_PATH,
    LOGIN_COOKIE,
    LOGIN_MESSAGES,
    SESSION_COOKIE,
    Session,
)
from souverain.console.benchview import METRIC_LABELS, bench_views, read_metric
from souverain.console.drillview import drill_documents, drill_runs, use_case_drills
from souverain.console.ledgerview import read_query
from souverain.console.overview import KINDS, build_overview, overview_charts
from souverain.console.period import PRESETS, read_period
from souverain.console.usecases import live_health, use_case_views
from souverain.console.web import (
    checked_form,
    is_tls,
    read_form,
    redirect,
    render,
    require_session,
    safe_next,
    same_origin,
    secured,
    set_session_cookie,
    state,
)

router = APIRouter(prefix="/ui", include_in_schema=False)
_STATIC = {"console.css": "text/css; charset=utf-8", "favicon.svg": "image/svg+xml"}
#: refused logins: the form again with the reason (status 200: a browser logs any 4xx document
#: as a console error, and the message in the page is what a person reads)
_REFUSALS = frozenset({"unknown_key", "not_admin", "no_admin_configured", "form_expired"})
EXPORT_FORMATS = {"jsonl": "application/x-ndjson", "otel": "application/x-ndjson"}


def _ledger(request: Request) -> Any:
    return state(request).runtime.ledger


def _use_case_names(request: Request) -> list[str]:
    return [u.name for u in state(request).runtime.config.use_cases]


# -- login and logout -----------------------------------------------------------------------------
def _login_page(request: Request, message: str | None, next_url: str) -> Response:
    """The login form (with a fresh form token), and a message when there is one."""
    auth = state(request).auth
    nonce = auth.login_nonce()
    response = render(
        request,
        "login.html",
        {
            "title": "Log in",
            "message": LOGIN_MESSAGES.get(message or "") if message else None,
            "alert": message in _REFUSALS,
            "token": auth.login_token(nonce),
            "next": next_url,
            "no_admin": not auth.keyring.has_admin,
        },
    )
    response.set_cookie(
        LOGIN_COOKIE, nonce, max_age=15 * 60, path=COOKIE_PATH, httponly=True, samesite="strict"
    )
    return response


@router.get("")
async def root() -> Response:
    return redirect("/ui/")


@router.get("/login")
async def login_form(request: Request) -> Response:
    found, _ = state(request).auth.session(request.cookies.get(SESSION_COOKIE))
    next_url = safe_next(request.query_params.get("next"))
    if found is not None:
        return redirect(next_url)
    return _login_page(request, request.query_params.get("m"), next_url)


@router.post("/login")
async def login(request: Request) -> Response:
    auth = state(request).auth
    form = await read_form(request)
    next_url = safe_next(form.get("next"))
    if not same_origin(request) or not auth.check_login_token(
        request.cookies.get(LOGIN_COOKIE), form.get("csrf")
    ):
        return _login_page(request, "form_expired", next_url)
    outcome, digest = auth.check_key(form.get("key", ""))
    if outcome != "ok" or digest is None:
        return _login_page(request, outcome, next_url)
    response = redirect(next_url)
    set_session_cookie(response, request, auth.open_session(digest), int(auth.session_s))
    response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response


@router.post("/logout")
async def logout(request: Request, session: Session = Depends(require_session)) -> Response:
    await checked_form(request, session)
    state(request).auth.revoke(session)
    response = redirect("/ui/login?m=logged_out")
    response.delete_cookie(
        SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict", secure=is_tls(request)
    )
    return response


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in _STATIC:
        return secured(Response("not found", 404, media_type="text/plain"))
    body = (files("souverain.console") / "static" / name).read_bytes()
    response = Response(body, media_type=_STATIC[name])
    response.headers["Cache-Control"] = "max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# -- pages ----------------------------------------------------------------------------------------
@router.get("/")
async def overview(request: Request, session: Session = Depends(require_session)) -> Response:
    period = read_period(request.query_params)
    ledger = _ledger(request)
    rows = (
        await asyncio.to_thread(
            lambda: list(ledger.rows(since=period.since, until=period.until, kind=KINDS))
        )
        if ledger is not None
        else []
    )
    view = build_overview(rows, period)
    context = {
        "title": "Overview",
        "view": view,
        "charts": overview_charts(view),
        "presets": PRESETS,
        "ledger_enabled": ledger is not None,
    }
    return render(request, "overview.html", context, session=session)


@router.get("/use-cases")
async def use_cases(request: Request, session: Session = Depends(require_session)) -> Response:
    runtime = state(request).runtime
    health = await live_health(runtime.backends)
    views = use_case_views(runtime.config.use_cases, runtime.backends, health)
    return render(
        request, "use_cases.html", {"title": "Use cases", "views": views}, session=session
    )


@router.get("/ledger")
async def ledger_page(request: Request, session: Session = Depends(require_session)) -> Response:
    from souverain.ledger.query import latest
    from souverain.ledger.record import DECISIONS, KINDS, STATUSES

    st = state(request)
    ledger = _ledger(request)
    query = read_query(request.query_params, _use_case_names(request))
    rows, check = [], None
    if ledger is not None:
        rows = await asyncio.to_thread(latest, ledger, query.flt, query.limit)
        check = await st.chains.current(ledger, st.runtime.config.ledger.checkpoints)
    context = {
        "title": "Ledger",
        "query": query,
        "rows": rows,
        "check": check,
        "options": {
            "use_case": _use_case_names(request),
            "decision": DECISIONS,
            "status": STATUSES,
            "kind": KINDS,
        },
        "ledger_enabled": ledger is not None,
        "ledger_url": ledger.url if ledger is not None else None,
    }
    return render(request, "ledger.html", context, session=session)


@router.post("/ledger/verify")
async def verify_now(request: Request, session: Session = Depends(require_session)) -> Response:
    form = await checked_form(request, session)
    ledger = _ledger(request)
    if ledger is not None:
        await state(request).chains.run(ledger, state(request).runtime.config.ledger.checkpoints)
    back = safe_next(form.get("back") or "/ui/ledger")
    return redirect(back + ("&" if "?" in back else "?") + "verified=1#chain")


@router.get("/ledger/export")
async def export(request: Request, session: Session = Depends(require_session)) -> Response:
    from souverain.ledger.export import export as write_rows
    from souverain.ledger.query import matching

    fmt = request.query_params.get("format", "jsonl")
    ledger = _ledger(request)
    if fmt not in EXPORT_FORMATS or ledger is None:
        return secured(Response("unknown export format or no ledger", 400, media_type="text/plain"))
    query = read_query(request.query_params, _use_case_names(request))
    # closed by chunks() once sent, or here if writing fails
    spool = tempfile.SpooledTemporaryFile(max_size=8 << 20, mode="w+", encoding="utf-8")  # noqa: SIM115

    def write() -> None:
        write_rows(matching(ledger, query.flt), fmt, spool)  # type: ignore[arg-type]
        spool.seek(0)

    try:
        await asyncio.to_thread(write)
    except BaseException:
        spool.close()
        raise

    def chunks() -> Iterator[str]:
        try:
            while block := spool.read(64 << 10):
                yield block
        finally:
            spool.close()

    response = StreamingResponse(chunks(), media_type=EXPORT_FORMATS[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="souverain-ledger-{fmt}.jsonl"'
    return secured(response)


@router.get("/bench")
async def bench(request: Request, session: Session = Depends(require_session)) -> Response:
    from souverain.evaluation.advise import load_all_results, results_dir

    runtime = state(request).runtime
    metric = read_metric(request.query_params.get("metric"))
    root = results_dir(runtime.config)
    docs = await asyncio.to_thread(load_all_results, root)
    views = bench_views(
        runtime.config.use_cases, runtime.backends, docs, metric, runtime.config.bench.min_items
    )
    context = {
        "title": "Bench & advisor",
        "views": views,
        "metric": metric,
        "metrics": METRIC_LABELS,
        "results_dir": str(root),
    }
    return render(request, "bench.html", context, session=session)


@router.get("/drills")
async def drills(request: Request, session: Session = Depends(require_session)) -> Response:
    from souverain.paths import data_dir

    ledger = _ledger(request)
    root = data_dir() / "drills"
    rows = (
        await asyncio.to_thread(lambda: list(ledger.rows(kind="drill")))
        if ledger is not None
        else []
    )
    docs = await asyncio.to_thread(drill_documents, root)
    views, recent = use_case_drills(_use_case_names(request), drill_runs(rows), docs)
    context = {
        "title": "Exit drills",
        "views": views,
        "recent": recent,
        "drills_dir": str(root),
        "ledger_enabled": ledger is not None,
    }
    return render(request, "drills.html", context, session=session)
