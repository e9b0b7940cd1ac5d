"""The error matrix, in process through the real ASGI app (httpx ASGITransport) with fake backends."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from souverain.api.app import create_app
from souverain.backends.base import (
    BackendBadResponse,
    BackendOverloaded,
    BackendTimeout,
    BackendUnavailable,
)
from souverain.config import parse_config
from tests.support.configs import openai_upstream
from tests.support.fakes import FakeBackend, install

KEY_ALL, KEY_KYC = "sk-sov-all-test-key", "sk-sov-kyc-test-key"


def config(keys: bool = False, max_body: int = 4096):
    data = {
        "server": {"max_body_bytes": max_body},
        "backends": [openai_upstream(n, "http://127.0.0.1:9/v1") for n in ("first", "second")],
        "use_cases": [
            {"name": "default", "backends": ["first", "second"]},
            {"name": "kyc", "backends": ["first"]},
        ],
    }
    if keys:
        data["api_keys"] = [
            {"name": "all", "sha256": hashlib.sha256(KEY_ALL.encode()).hexdigest()},
            {
                "name": "kyc-team",
                "sha256": hashlib.sha256(KEY_KYC.encode()).hexdigest(),
                "use_cases": ["kyc"],
            },
        ]
    return parse_config(data)


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


@pytest.fixture
def app():
    a = create_app(config())
    install(a, FakeBackend("first", text="one two three"), FakeBackend("second", text="four five"))
    return a


CHAT = {"model": "default", "messages": [{"role": "user", "content": "hi"}]}


def assert_openai_error(
    r: httpx.Response, status: int, code: str | None = None, param: str | None = None
) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert "Traceback" not in r.text
    if code is not None:
        assert body["error"]["code"] == code
    if param is not None:
        assert body["error"]["param"] == param
    return body["error"]


async def test_ok_and_unknown_fields_ignored(app) -> None:
    async with client_for(app) as c:
        r = await c.post(
            "/v1/chat/completions", json={**CHAT, "frobnicate": 1, "metadata": {"a": 1}}
        )
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"] == "one two three"
    assert r.headers["x-souverain-backend"] == "first"


@pytest.mark.parametrize(
    "body,param,code",
    [
        ({**CHAT, "temperature": "hot"}, "temperature", "invalid_value"),
        ({**CHAT, "temperature": 7}, "temperature", "invalid_value"),
        ({**CHAT, "messages": []}, "messages", "invalid_value"),
        ({"messages": CHAT["messages"]}, "model", "missing_required_parameter"),
        (
            {**CHAT, "messages": [{"role": "wizard", "content": "x"}]},
            "messages[0].role",
            "invalid_value",
        ),
        ({**CHAT, "n": 2}, "n", "unsupported_parameter"),
        ({**CHAT, "top_logprobs": 2}, "top_logprobs", "invalid_value"),  # without logprobs
        ({**CHAT, "logprobs": True, "top_logprobs": 21}, "top_logprobs", "invalid_value"),
        ({**CHAT, "functions": [{"name": "f"}]}, "functions", "unsupported_parameter"),
        ({**CHAT, "max_tokens": 0}, "max_tokens", "invalid_value"),
        ({**CHAT, "stop": ["a", "b", "c", "d", "e"]}, "stop", "invalid_value"),
    ],
)
async def test_bad_input_names_param(app, body, param, code) -> None:
    async with client_for(app) as c:
        r = await c.post("/v1/chat/completions", json=body)
    err = assert_openai_error(r, 400, code)
    if param:
        assert err["param"] == param


async def test_malformed_json_and_non_object(app) -> None:
    async with client_for(app) as c:
        r = await c.post(
            "/v1/chat/completions",
            content=b'{"model": "default", "messages": [',
            headers={"content-type": "application/json"},
        )
        assert_openai_error(r, 400, "invalid_json")
        r = await c.post(
            "/v1/chat/completions", content=b"[1,2]", headers={"content-type": "application/json"}
        )
        assert_openai_error(r, 400)
        r = await c.post("/v1/chat/completions", content=b"")
        assert_openai_error(r, 400)


async def test_body_too_large_413(app) -> None:
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 10_000}]}
    async with client_for(app) as c:
        assert_openai_error(
            await c.post("/v1/chat/completions", json=big), 413, "request_too_large"
        )

        async def chunks():
            data = json.dumps(big).encode()
            for i in range(0, len(data), 1000):
                yield data[i : i + 1000]

        r = await c.post(
            "/v1/chat/completions", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_openai_error(r, 413, "request_too_large")


async def test_unknown_model_404(app) -> None:
    async with client_for(app) as c:
        err = assert_openai_error(
            await c.post("/v1/chat/completions", json={**CHAT, "model": "gpt-4o"}),
            404,
            "model_not_found",
            "model",
        )
    assert "default" in err["message"] and "kyc" in err["message"]


async def test_unknown_route_and_method_are_openai_shaped(app) -> None:
    async with client_for(app) as c:
        assert_openai_error(await c.get("/v1/nope"), 404)
        assert_openai_error(await c.get("/v1/chat/completions"), 405)


async def test_completions_unsupported(app) -> None:
    async with client_for(app) as c:
        for extra, param in [
            ({"echo": True}, "echo"),
            ({"suffix": "x"}, "suffix"),
            ({"best_of": 3}, "best_of"),
            ({"prompt": ["a", "b"]}, "prompt"),
        ]:
            body = {"model": "default", "prompt": "hello", **extra}
            assert_openai_error(
                await c.post("/v1/completions", json=body), 400, "unsupported_parameter", param
            )


async def test_api_keys_401_403_and_model_list_filtered() -> None:
    app = create_app(config(keys=True))
    install(app, FakeBackend("first"), FakeBackend("second"))
    async with client_for(app) as c:
        assert_openai_error(await c.post("/v1/chat/completions", json=CHAT), 401, "missing_api_key")
        assert_openai_error(
            await c.post(
                "/v1/chat/completions", json=CHAT, headers={"Authorization": "Bearer wrong"}
            ),
            401,
            "invalid_api_key",
        )
        kyc = {"Authorization": f"Bearer {KEY_KYC}"}
        assert_openai_error(
            await c.post("/v1/chat/completions", json=CHAT, headers=kyc),
            403,
            "use_case_not_allowed",
        )
        assert (
            await c.post("/v1/chat/completions", json={**CHAT, "model": "kyc"}, headers=kyc)
        ).status_code == 200
        models = (await c.get("/v1/models", headers=kyc)).json()
        assert [m["id"] for m in models["data"]] == ["kyc"]
        everything = (
            await c.get("/v1/models", headers={"Authorization": f"Bearer {KEY_ALL}"})
        ).json()
        assert [m["id"] for m in everything["data"]] == ["default", "kyc"]
        assert_openai_error(await c.get("/v1/models"), 401)


@pytest.mark.parametrize(
    "exc,status,code",
    [
        (BackendUnavailable("first", "cannot connect"), 503, "backend_unavailable"),
        (BackendTimeout("first", "no first byte within 1s"), 504, "backend_timeout"),
        (BackendBadResponse("first", "invalid JSON"), 502, "backend_bad_response"),
    ],
)
async def test_backend_failure_names_backend(exc, status, code) -> None:
    app = create_app(config())
    install(app, FakeBackend("first", fail_before=exc))
    async with client_for(app) as c:
        err = assert_openai_error(
            await c.post("/v1/chat/completions", json={**CHAT, "model": "kyc"}), status, code
        )
    assert "first" in err["message"]


async def test_overloaded_is_429_with_retry_after() -> None:
    app = create_app(config())
    install(
        app,
        FakeBackend("first", fail_before=BackendOverloaded("first", "queue full", retry_after=2)),
    )
    async with client_for(app) as c:
        r = await c.post("/v1/chat/completions", json={**CHAT, "model": "kyc"})
    assert_openai_error(r, 429, "backend_overloaded")
    assert r.headers["retry-after"] == "2"


async def test_fallback_before_first_byte_to_next_compliant() -> None:
    app = create_app(config())
    install(
        app,
        FakeBackend("first", fail_before=BackendUnavailable("first", "down")),
        FakeBackend("second", text="from second"),
    )
    async with client_for(app) as c:
        r = await c.post("/v1/chat/completions", json=CHAT)
        assert r.status_code == 200 and r.headers["x-souverain-backend"] == "second"
        assert r.json()["model"] == "second"
        r = await c.post("/v1/chat/completions", json={**CHAT, "stream": True})
        assert r.status_code == 200 and r.headers["x-souverain-backend"] == "second"


async def test_failure_mid_stream_ends_with_error_event_not_fallback() -> None:
    app = create_app(config())
    install(
        app,
        FakeBackend(
            "first", text="a b c d", fail_after=BackendBadResponse("first", "connection lost")
        ),
        FakeBackend("second"),
    )
    async with client_for(app) as c:
        r = await c.post("/v1/chat/completions", json={**CHAT, "stream": True})
    events = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    assert json.loads(events[-2])["error"]["code"] == "backend_bad_response"
    assert "second" not in r.text


async def test_unhealthy_backends_give_503_no_compliant_backend() -> None:
    app = create_app(config())
    install(app, FakeBackend("first", healthy=False), FakeBackend("second", healthy=False))
    async with client_for(app) as c:
        r = await c.post("/v1/chat/completions", json=CHAT)
    err = assert_openai_error(r, 503, "no_compliant_backend")
    assert "first: unhealthy" in err["message"] and "second: unhealthy" in err["message"]
    assert r.headers["x-souverain-decision"] == "refused"


async def test_metrics_count_requests_and_refusals(app) -> None:
    async with client_for(app) as c:
        await c.post("/v1/chat/completions", json=CHAT)
        await c.post("/v1/chat/completions", json={**CHAT, "model": "kyc"})
        text = (await c.get("/metrics")).text
    assert (
        'souverain_requests_total{backend="first",decision="served",use_case="default"} 1.0' in text
    )
    assert (
        'souverain_tokens_total{backend="first",decision="served",direction="output",use_case="default"}'
        in text
    )
    assert "souverain_request_duration_seconds_bucket" in text


async def test_metrics_need_an_admin_key_when_keys_are_configured() -> None:
    cfg = config(keys=True)
    cfg.api_keys[0].admin = True  # "all" is the admin; "kyc-team" is not
    app = create_app(cfg)
    install(app, FakeBackend("first"), FakeBackend("second"))
    async with client_for(app) as c:
        assert_openai_error(await c.get("/metrics"), 401)
        other = await c.get("/metrics", headers={"Authorization": f"Bearer {KEY_KYC}"})
        assert_openai_error(other, 403)
        assert other.json()["error"]["code"] == "admin_key_required"
        assert "souverain_requests" not in other.text
        ok = await c.get("/metrics", headers={"Authorization": f"Bearer {KEY_ALL}"})
        assert ok.status_code == 200 and "souverain_requests" in ok.text


async def test_metrics_public_opts_out() -> None:
    cfg = config(keys=True)
    cfg.metrics.public = True
    app = create_app(cfg)
    install(app, FakeBackend("first"), FakeBackend("second"))
    async with client_for(app) as c:
        assert (await c.get("/metrics")).status_code == 200


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"model": 12}', b"x" * 10_000, b'{"model": "default", "messages": "no"}'],
)
@pytest.mark.parametrize("auth", [None, "Bearer sk-sov-wrong", "Basic abc"])
async def test_unauthenticated_gets_401_before_the_body_is_read(
    body: bytes, auth: str | None
) -> None:
    app = create_app(config(keys=True))  # max body 4096: the 10 kB body would be 413
    install(app, FakeBackend("first"), FakeBackend("second"))
    headers = {"content-type": "application/json"} | ({"Authorization": auth} if auth else {})
    async with client_for(app) as c:
        for path in ("/v1/chat/completions", "/v1/completions", "/v1/nope"):
            resp = await c.post(path, content=body, headers=headers)
            assert_openai_error(resp, 401)
            assert resp.headers["www-authenticate"] == "Bearer"
        # the same body with a valid key is judged on its merits
        ok_headers = headers | {"Authorization": f"Bearer {KEY_ALL}"}
        resp = await c.post("/v1/chat/completions", content=body, headers=ok_headers)
        assert resp.status_code in (400, 413, 422)
        metrics = app.state.runtime.metrics
        code = "missing_api_key" if auth is None else "invalid_api_key"
        assert metrics.unauthenticated.labels(code)._value.get() == 3
