"""api/fastpath.py: a request that validates is served without FastAPI's routing; anything else
is handed on to FastAPI with its body replayed, and answered as FastAPI answers it."""

from __future__ import annotations

import json

import pytest

from souverain.api import strictjson
from souverain.api.app import create_app
from tests.api.test_errors import CHAT, assert_openai_error, client_for, config
from tests.support.fakes import FakeBackend, install


@pytest.fixture
def app():
    a = create_app(config(keys=True))
    install(a, FakeBackend("first", text="one two three"), FakeBackend("second", text="four"))
    return a


AUTH = {"authorization": "Bearer sk-sov-all-test-key"}


def _chunks(data: bytes, size: int):
    async def gen():
        for i in range(0, len(data), size):
            yield data[i : i + size]

    return gen()


async def test_valid_request_never_reaches_fastapi(app, monkeypatch) -> None:
    def fastapi_parse(self):  # what FastAPI's route would call to read the body
        raise AssertionError("the FastAPI route parsed a body the direct path should serve")

    monkeypatch.setattr(strictjson.StrictJSONRequest, "json", fastapi_parse)
    data = json.dumps(CHAT).encode()
    headers = {**AUTH, "content-type": "application/json"}
    async with client_for(app) as c:
        r = await c.post("/v1/chat/completions", content=_chunks(data, 7), headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"] == "one two three"
        assert r.headers["x-souverain-backend"] == "first"
        # the key is still checked there: another key's use case is 403, an unknown model 404
        r = await c.post(
            "/v1/chat/completions",
            json=CHAT,
            headers={"authorization": "Bearer sk-sov-kyc-test-key"},
        )
        assert_openai_error(r, 403, "use_case_not_allowed", "model")
        r = await c.post("/v1/completions", json={"model": "nope", "prompt": "x"}, headers=AUTH)
        assert_openai_error(r, 404, "model_not_found", "model")


@pytest.mark.parametrize(
    "body,status,code,param",
    [
        (b'{"model": "default", "messages": [', 400, "invalid_json", None),
        (b'{"model": "default", "model": "default"}', 400, "invalid_json", "model"),
        (b"[1, 2]", 400, "invalid_request_body", None),
        (b'{"messages": [{"role": "user", "content": "hi"}]}', 400, None, "model"),
        (json.dumps({**CHAT, "temperature": "hot"}).encode(), 400, "invalid_value", None),
    ],
)
async def test_invalid_bodies_are_answered_by_fastapi(app, body, status, code, param) -> None:
    """Sent in small chunks: the replayed body is the one received, whole."""
    headers = {**AUTH, "content-type": "application/json"}
    async with client_for(app) as c:
        r = await c.post("/v1/chat/completions", content=_chunks(body, 5), headers=headers)
        err = assert_openai_error(r, status, code, param)
        assert err["message"]
        r = await c.get("/v1/models", headers=AUTH)  # the gateway still serves
        assert r.status_code == 200


async def test_body_without_json_type_is_read_as_json(app) -> None:
    async with client_for(app) as c:
        r = await c.post(
            "/v1/chat/completions",
            content=json.dumps(CHAT).encode(),
            headers={**AUTH, "content-type": "application/x-www-form-urlencoded"},
        )
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "one two three"


async def test_missing_key_is_401_before_the_body(app) -> None:
    async with client_for(app) as c:
        r = await c.post("/v1/chat/completions", json=CHAT)
    assert_openai_error(r, 401, "missing_api_key")
