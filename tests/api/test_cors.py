"""CORS (``server.cors_origins``, issue #13 item 5): none by default; preflights from a listed
origin answered before authentication; the gateway's headers exposed to the page; any other
origin gets no CORS header. Through the real ASGI app with API keys configured."""

from __future__ import annotations

import hashlib

import pytest

from souverain.api.app import create_app
from souverain.config import parse_config
from souverain.config.loader import ConfigError
from tests.api.test_errors import assert_openai_error, client_for
from tests.support.configs import openai_upstream
from tests.support.fakes import FakeBackend, install

KEY = "sk-sov-cors-test"
APP_ORIGIN = "https://app.example.com"
CHAT = {"model": "default", "messages": [{"role": "user", "content": "hi"}]}
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, x-stainless-os",
}


def app_with(origins: list[str] | None):
    data = {
        "backends": [openai_upstream("first", "http://127.0.0.1:9/v1")],
        "use_cases": [{"name": "default", "backends": ["first"]}],
        "api_keys": [{"name": "web", "sha256": hashlib.sha256(KEY.encode()).hexdigest()}],
    }
    if origins is not None:
        data["server"] = {"cors_origins": origins}
    app = create_app(parse_config(data))
    install(app, FakeBackend("first", text="ok"))
    return app


def cors_headers(r) -> dict[str, str]:
    return {k: v for k, v in r.headers.items() if k.startswith("access-control-")}


async def test_no_cors_by_default() -> None:
    async with client_for(app_with(None)) as c:
        r = await c.options("/v1/chat/completions", headers={"Origin": APP_ORIGIN, **PREFLIGHT})
        assert_openai_error(r, 401, "missing_api_key")  # no preflight handling: the key first
        assert cors_headers(r) == {}
        r = await c.post(
            "/v1/chat/completions",
            json=CHAT,
            headers={"Origin": APP_ORIGIN, "Authorization": f"Bearer {KEY}"},
        )
        assert r.status_code == 200 and cors_headers(r) == {}


async def test_preflight_from_an_allowed_origin_needs_no_key() -> None:
    async with client_for(app_with([APP_ORIGIN, "http://localhost:5173"])) as c:
        r = await c.options("/v1/chat/completions", headers={"Origin": APP_ORIGIN, **PREFLIGHT})
        assert r.status_code == 204, r.text
        h = cors_headers(r)
        assert h["access-control-allow-origin"] == APP_ORIGIN
        assert "POST" in h["access-control-allow-methods"]
        assert "authorization" in h["access-control-allow-headers"]
        assert "x-stainless-os" in h["access-control-allow-headers"]
        assert "origin" in r.headers["vary"].lower()
        # the actual request: answered, with the gateway's headers readable by the page
        r = await c.post(
            "/v1/chat/completions",
            json=CHAT,
            headers={"Origin": APP_ORIGIN, "Authorization": f"Bearer {KEY}"},
        )
        assert r.status_code == 200
        h = cors_headers(r)
        assert h["access-control-allow-origin"] == APP_ORIGIN
        exposed = {x.strip().lower() for x in h["access-control-expose-headers"].split(",")}
        assert {"x-request-id", "x-souverain-backend", "x-souverain-decision"} <= exposed
        assert {"x-souverain-use-case", "retry-after"} <= exposed
        assert "access-control-allow-credentials" not in h
        # an error is readable too (the page can show why): a 401 without a key
        r = await c.post("/v1/chat/completions", json=CHAT, headers={"Origin": APP_ORIGIN})
        assert_openai_error(r, 401, "missing_api_key")
        assert cors_headers(r)["access-control-allow-origin"] == APP_ORIGIN


async def test_another_origin_gets_no_cors_headers() -> None:
    async with client_for(app_with([APP_ORIGIN])) as c:
        evil = "https://evil.example.net"
        r = await c.options("/v1/chat/completions", headers={"Origin": evil, **PREFLIGHT})
        assert_openai_error(r, 403, "cors_origin_not_allowed")
        assert cors_headers(r) == {}
        r = await c.post(
            "/v1/chat/completions",
            json=CHAT,
            headers={"Origin": evil, "Authorization": f"Bearer {KEY}"},
        )
        assert r.status_code == 200 and cors_headers(r) == {}
        # the console is never opened to other sites, whatever the list
        r = await c.options("/console/", headers={"Origin": APP_ORIGIN, **PREFLIGHT})
        assert cors_headers(r) == {}


async def test_star_allows_any_origin() -> None:
    async with client_for(app_with(["*"])) as c:
        r = await c.options(
            "/v1/models", headers={"Origin": "https://anywhere.example", **PREFLIGHT}
        )
        assert r.status_code == 204
        assert cors_headers(r)["access-control-allow-origin"] == "*"
        r = await c.get(
            "/v1/models",
            headers={"Origin": "https://anywhere.example", "Authorization": f"Bearer {KEY}"},
        )
        assert r.status_code == 200 and cors_headers(r)["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("bad", ["app.example.com", "https://app.example.com/path", "ftp://x"])
def test_an_origin_is_checked_at_load(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"server\.cors_origins"):
        app_with([bad])
