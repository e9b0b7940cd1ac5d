"""What real clients tripped over on the surface itself (issue #13 item 5): ``models.retrieve``,
unknown endpoints and wrong methods, through the official openai client and the real ASGI app."""

from __future__ import annotations

import openai
import pytest

from souverain.api.app import create_app
from tests.api.test_errors import KEY_ALL, KEY_KYC, assert_openai_error, client_for, config
from tests.support.asgi import openai_client
from tests.support.fakes import FakeBackend, install


def keyed_app():
    app = create_app(config(keys=True))
    install(app, FakeBackend("first"), FakeBackend("second"))
    return app


async def test_models_retrieve_gives_the_use_case_the_key_may_use() -> None:
    app = keyed_app()
    async with openai_client(app, KEY_KYC) as client:
        model = await client.models.retrieve("kyc")
        assert (model.id, model.object, model.owned_by) == ("kyc", "model", "souverain")
        listed = [m.id for m in (await client.models.list()).data]
        assert listed == ["kyc"]
        # a use case the key may not use is as unknown as one that does not exist (not listed)
        for name in ("default", "gpt-4o", "org/some-model"):
            with pytest.raises(openai.NotFoundError) as err:
                await client.models.retrieve(name)
            body = err.value.body
            assert body["code"] == "model_not_found" and body["param"] == "model", body
            assert "kyc" in body["message"] and "default" not in body["message"].split(":")[-1]
    async with openai_client(app, KEY_ALL) as client:
        assert (await client.models.retrieve("default")).id == "default"


async def test_models_retrieve_needs_a_key() -> None:
    async with client_for(keyed_app()) as c:
        assert_openai_error(await c.get("/v1/models/kyc"), 401, "missing_api_key")


async def test_unknown_endpoint_names_the_supported_ones() -> None:
    app = create_app(config())
    install(app, FakeBackend("first"), FakeBackend("second"))
    async with client_for(app) as c:
        for method, path in (("POST", "/v1/audio/speech"), ("GET", "/v1/files"), ("GET", "/v1/")):
            err = assert_openai_error(
                await c.request(method, path, json={}), 404, "unknown_endpoint"
            )
            assert f"{method} {path}" in err["message"]
            for endpoint in (
                "POST /v1/chat/completions",
                "POST /v1/completions",
                "POST /v1/embeddings",
                "GET /v1/models",
                "GET /v1/models/{model}",
                "POST /v1/responses",
            ):
                assert endpoint in err["message"], err["message"]
            assert "HEAD" not in err["message"]
        # outside the OpenAI surface a 404 stays a plain not_found
        assert_openai_error(await c.get("/nope"), 404, "not_found")


async def test_the_list_follows_the_routes() -> None:
    """Derived from the app's routes: a route added later is named with no list to update."""
    app = create_app(config())

    @app.post("/v1/frobnicate")
    async def frobnicate() -> dict[str, str]:
        return {}

    async with client_for(app) as c:
        err = assert_openai_error(await c.get("/v1/nothing"), 404, "unknown_endpoint")
    assert "POST /v1/frobnicate" in err["message"]


async def test_wrong_method_is_405_with_allow() -> None:
    app = create_app(config())
    async with client_for(app) as c:
        r = await c.get("/v1/chat/completions")
        err = assert_openai_error(r, 405, "method_not_allowed")
        assert r.headers["allow"] == "POST"
        assert "GET" in err["message"] and "POST" in err["message"]
        r = await c.delete("/v1/models")
        assert_openai_error(r, 405, "method_not_allowed")
        assert "GET" in r.headers["allow"]


@pytest.mark.parametrize(
    "content_type",
    [None, "application/x-www-form-urlencoded", "text/plain; charset=utf-8", "multipart/form-data"],
)
async def test_a_json_body_without_the_json_content_type_is_accepted(content_type) -> None:
    """``curl -d`` sends application/x-www-form-urlencoded, ``requests.post(data=...)`` none."""
    app = create_app(config())
    install(app, FakeBackend("first", text="bonjour"), FakeBackend("second"))
    headers = {"content-type": content_type} if content_type else {}
    body = b'{"model": "default", "messages": [{"role": "user", "content": "hi"}]}'
    async with client_for(app) as c:
        r = await c.post("/v1/chat/completions", content=body, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"] == "bonjour"
        # still parsed strictly: a repeated key or a cut body is refused as with application/json
        dup = b'{"model": "default", "model": "x", "messages": []}'
        r = await c.post("/v1/chat/completions", content=dup, headers=headers)
        assert_openai_error(r, 400, "invalid_json", "model")
        r = await c.post("/v1/chat/completions", content=b'{"model": ', headers=headers)
        assert_openai_error(r, 400, "invalid_json")
        for not_an_object in (b"model=default&messages=hi", b"[1, 2]", b"hello"):
            r = await c.post("/v1/chat/completions", content=not_an_object, headers=headers)
            assert_openai_error(r, 400, "invalid_request_body")


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions"])
@pytest.mark.parametrize("stream", [False, None, "absent"])
async def test_stream_options_without_stream_is_refused(path, stream) -> None:
    app = create_app(config())
    install(app, FakeBackend("first"), FakeBackend("second"))
    body = (
        {"model": "default", "messages": [{"role": "user", "content": "hi"}]}
        if path.endswith("chat/completions")
        else {"model": "default", "prompt": "hi"}
    )
    body["stream_options"] = {"include_usage": True}
    if stream != "absent":
        body["stream"] = stream
    async with openai_client(app, "unused") as client:
        create = (
            client.chat.completions.create
            if path.endswith("chat/completions")
            else client.completions.create
        )
        with pytest.raises(openai.BadRequestError) as err:
            await create(**body)
        assert err.value.body["param"] == "stream_options"
        assert err.value.body["code"] == "invalid_value"
        assert "only allowed when 'stream' is enabled" in err.value.body["message"]
        # with stream: true it is what it was
        body["stream"] = True
        chunks = [c async for c in await create(**body)]
        assert chunks[-1].usage is not None
