"""The ASGI application: ``create_app(config)`` builds everything and keeps it on app state."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from souverain import __version__
from souverain.api.auth import KeyRing, authenticate
from souverain.api.authfirst import AuthFirst
from souverain.api.cors import CORS
from souverain.api.drain import Drain, DrainGuard
from souverain.api.endpoints import PREFIX as ENDPOINT_PREFIX
from souverain.api.endpoints import method_not_allowed, unknown_endpoint
from souverain.api.errors import APIError, error_response
from souverain.api.fastpath import DirectRoutes
from souverain.api.limits import BodySizeLimit, BodyTooLarge, too_large_body
from souverain.api.openai import early
from souverain.api.openai.router import DIRECT
from souverain.api.openai.router import router as openai_router
from souverain.api.readiness import Readiness
from souverain.api.strictjson import InvalidBody
from souverain.config.schema import Config
from souverain.console import install as install_console
from souverain.gateway.call import AuditHooks
from souverain.gateway.runtime import Runtime
from souverain.ledger import Ledger
from souverain.policy.routing import RoutingPlan

log = logging.getLogger("souverain.api")


def _param(loc: tuple[Any, ...]) -> str | None:
    parts = [p for p in loc if p != "body"]
    # pydantic adds the union member's type name to the location (e.g. 'str', 'list[...]')
    parts = [
        p
        for p in parts
        if not (
            isinstance(p, str)
            and (
                "[" in p
                or p in ("str", "int", "float", "bool", "function-after")
                or p[:1].isupper()  # a model member of a union (NamedToolChoice)
            )
        )
    ]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or None


def _validation_error(exc: RequestValidationError) -> APIError:
    errors = exc.errors()
    # a union reports one error per member: the deepest one says most (content[0].text)
    first = (
        max(errors, key=lambda e: len(e.get("loc", ())))
        if errors
        else {"loc": (), "msg": "invalid request", "type": ""}
    )
    if first.get("type") == "json_invalid":
        return APIError(
            400, f"the body is not valid JSON ({first.get('msg')})", code="invalid_json"
        )
    loc = tuple(first.get("loc", ()))
    if loc == ("body",) and first.get("type") in ("missing", "model_attributes_type", "dict_type"):
        return APIError(400, "a JSON object body is required", code="invalid_request_body")
    param = _param(loc)
    msg = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    code = "missing_required_parameter" if first.get("type") == "missing" else "invalid_value"
    text = f"{param}: {msg}" if param else msg
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return APIError(400, text, code=code, param=param)


def _routing_plans(config: Config, backends: Mapping[str, Any]) -> dict[str, RoutingPlan]:
    """Objective routing from the latest bench results (imported at start-up, not at import:
    the evaluation package pulls in numpy)."""
    from souverain.evaluation.advise import routing_plans

    return routing_plans(config, backends)


def _is_admin(request: Request) -> bool:
    try:
        return authenticate(request).admin
    except APIError:
        return False


def settle_heap() -> None:
    """Move what start-up built (imported modules, the detectors' tables and name lists, the
    config: some 130,000 objects) out of the cyclic garbage collector's sight. They live as long
    as the process, yet every full collection walked them all again: under load that was one
    pause of up to 90 ms every ~1,500 requests (bench/gateway_bench.py). Objects made later are
    collected as before."""
    gc.collect()
    gc.freeze()


def create_app(
    config: Config,
    *,
    hooks: AuditHooks | None = None,
    wait_for_backends: bool = False,
    ledger: Ledger | None = None,
    on_load_failure: Callable[[dict[str, str]], None] | None = None,
    server_process: bool = False,
) -> FastAPI:
    """Build the gateway app. With ``wait_for_backends`` start-up waits until models are loaded;
    ``ledger``: one the caller already opened (else the config's is opened at start-up);
    ``on_load_failure`` is called with ``{backend: reason}`` once loading has finished, when a
    model that runs in this process could not be loaded (``serve`` then exits).
    ``server_process``: the app owns its process (``serve``), whose heap is settled after
    start-up (:func:`settle_heap`); never in a process that builds many apps (tests)."""

    runtime = Runtime(config, hooks, ledger=ledger, routing=_routing_plans)
    readiness = Readiness(runtime.backends, config.server.readyz_cache_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start(wait=wait_for_backends)
        if server_process:
            settle_heap()
        watch = None
        if on_load_failure is not None:

            async def _watch_loads() -> None:
                failed = await runtime.load_failures()
                if failed:
                    on_load_failure(failed)

            watch = asyncio.create_task(_watch_loads(), name="watch-model-loads")
        try:
            yield
        finally:
            if watch is not None:
                watch.cancel()
            await readiness.close()
            await runtime.close()

    app = FastAPI(
        title="souverain",
        version=__version__,
        description="OpenAI-compatible sovereign AI gateway. A `model` names a use case.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.readiness = readiness
    app.state.drain = Drain(config.server.drain_s)
    app.state.keyring = KeyRing(config.api_keys, runtime.keys)
    app.include_router(openai_router)
    install_console(app, runtime, app.state.keyring)

    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError) -> Response:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        err = await early.record_from_request(request, _validation_error(exc), exc.body)
        return error_response(err)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> Response:
        body = too_large_body(config.server.max_body_bytes)["error"]
        err = APIError(413, body["message"], code=body["code"], param=body["param"])
        recorded = await early.record_from_request(request, err)
        if recorded is not err:  # the ledger is unavailable
            return error_response(recorded)
        return Response(
            orjson.dumps(too_large_body(config.server.max_body_bytes)),
            413,
            media_type="application/json",
            headers=err.headers,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc.__cause__, BodyTooLarge):  # FastAPI wraps errors raised while reading
            return await _too_large(request, exc.__cause__)
        if isinstance(exc.__cause__, InvalidBody):  # ... and while parsing (strictjson)
            bad = exc.__cause__
            err = APIError(400, bad.message, code=bad.code, param=bad.param)
            return error_response(await early.record_from_request(request, err))
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            return error_response(method_not_allowed(request, headers))
        if exc.status_code == 404 and request.url.path.startswith(ENDPOINT_PREFIX):
            return error_response(unknown_endpoint(request))
        code = {404: "not_found"}.get(exc.status_code)
        return error_response(
            APIError(exc.status_code, str(exc.detail), code=code, headers=headers)
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            APIError(500, "internal error (see the gateway log)", code="internal_error")
        )

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus metrics. With api_keys configured, an admin key is required (a scraper
        sends it as a bearer token): the metrics name every use case, backend and cost.
        ``metrics.public: true`` serves them to anyone who can reach the port."""
        if not config.metrics.public:
            principal = authenticate(request)
            if request.app.state.keyring.configured and not principal.admin:
                raise APIError(
                    403,
                    "/metrics needs an admin key (api_keys[].admin: true), or metrics.public: true",
                    code="admin_key_required",
                )
        body, content_type = runtime.metrics.render()
        return Response(body, media_type=content_type)

    @app.get("/readyz", tags=["ops"])
    async def readyz(request: Request) -> Response:
        """Every backend loaded or reachable (JSON per backend); 503 until then. The probes are
        cached (``server.readyz_cache_s``); with api_keys configured, each backend's ``detail``
        (why it is down) is shown to an admin key only. 503 ``draining`` once SIGTERM was
        received (``server.drain_s``)."""
        if app.state.drain.draining:
            body = {"status": "draining", "in_flight": app.state.drain.in_flight}
            return Response(orjson.dumps(body), 503, media_type="application/json")
        results = await readiness.results()
        backends = {n: h.as_dict() for n, h in results.items()}
        if request.app.state.keyring.configured and not _is_admin(request):
            backends = {n: {"ok": b["ok"]} for n, b in backends.items()}
        ready = all(h.ok for h in results.values())
        body = {"status": "ready" if ready else "not_ready", "backends": backends}
        return Response(orjson.dumps(body), 200 if ready else 503, media_type="application/json")

    app.add_middleware(DirectRoutes, routes=DIRECT)  # innermost: inside the body limit
    app.add_middleware(BodySizeLimit, max_bytes=config.server.max_body_bytes)
    app.add_middleware(AuthFirst)  # 401 before any byte of the body is read
    app.add_middleware(DrainGuard)  # counts every request; 503 once draining
    if config.server.cors_origins:  # outermost: preflights before the key, CORS on every answer
        app.add_middleware(CORS, origins=config.server.cors_origins)
    return app


def app_from_environment() -> FastAPI:
    """App factory for worker processes (``souverain serve --workers N``): the config comes from
    ``$SOUVERAIN_CONFIG`` (or the built-in default)."""
    from souverain.config import load_config

    return create_app(load_config(None), server_process=True)
