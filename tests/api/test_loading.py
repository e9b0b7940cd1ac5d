"""A request while the model that would serve it is still loading (issue #13 item 5): 503
``model_loading`` with ``Retry-After``, recorded as ``failed`` -- not a compliance refusal, whose
codes stay for policy. The real embedded llama.cpp backend, before its model has loaded, through
the in-process ASGI app and a real SQLite ledger."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest

from souverain.api.app import create_app
from souverain.config import parse_config
from souverain.ledger.readonly import open_readonly
from tests.support.asgi import openai_client
from tests.support.configs import backend, openai_upstream

CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


def loading_app(db: Path, model: str = "embedded"):
    cfg = parse_config(
        {
            "backends": [
                backend("local", type="llamacpp", model=model),
                openai_upstream(
                    "abroad",
                    "http://127.0.0.1:9/v1",
                    self_hosted=False,
                    operator_jurisdiction="US",
                    location="US",
                ),
            ],
            "use_cases": [
                {"name": "default", "backends": ["local"]},
                # the foreign upstream is excluded by policy: only the loading model could serve
                {
                    "name": "eu",
                    "backends": ["abroad", "local"],
                    "policy": {"allowed_jurisdictions": ["FR"]},
                },
                {"name": "abroad-only", "backends": ["abroad"]},
            ],
            "ledger": {"url": str(db)},
        }
    )
    app = create_app(cfg)
    app.state.runtime.open_ledger()  # the ledger only: the backends are not started (loading)
    return app


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


def rows(db: Path) -> list[dict]:
    with open_readonly(f"sqlite:///{db}") as reader:
        return list(reader.rows())


async def test_a_loading_model_says_loading_with_retry_after(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    app = loading_app(db)
    assert app.state.runtime.backends["local"].is_loading()
    try:
        async with client(app) as c:
            r = await c.post("/v1/chat/completions", json={**CHAT, "model": "default"})
            eu = await c.post("/v1/chat/completions", json={**CHAT, "model": "eu"})
            personal = [{"role": "user", "content": "write to jean.dupont@example.fr"}]
            policy = await c.post(  # personal data stays local: the foreign upstream is excluded
                "/v1/chat/completions",
                json={**CHAT, "model": "abroad-only", "messages": personal},
            )
    finally:
        await app.state.runtime.close()
    for resp in (r, eu):
        assert resp.status_code == 503, resp.text
        err = resp.json()["error"]
        assert err["code"] == "model_loading" and err["type"] == "service_unavailable"
        assert "loading" in err["message"] and "local" in err["message"]
        assert resp.headers["retry-after"] == "5"
        assert resp.headers["x-souverain-decision"] == "failed"
    # a policy refusal keeps its code, and says nothing about loading
    assert policy.status_code == 503 and policy.json()["error"]["code"] == "no_compliant_backend"
    assert "retry-after" not in policy.headers
    by_id = {row["request_id"]: row for row in rows(db)}
    row = by_id[r.headers["x-request-id"]]
    assert (row["decision"], row["status"], row["http_status"], row["error_code"]) == (
        "failed",
        "failed",
        503,
        "model_loading",
    )
    assert "loading" in row["reason"]
    assert by_id[policy.headers["x-request-id"]]["decision"] == "refused"


async def test_the_openai_client_sees_a_503_it_can_retry(tmp_path: Path) -> None:
    app = loading_app(tmp_path / "ledger.db")
    try:
        async with openai_client(app) as oc:
            with pytest.raises(openai.InternalServerError) as err:
                await oc.chat.completions.create(model="default", **CHAT)
    finally:
        await app.state.runtime.close()
    assert err.value.status_code == 503 and err.value.body["code"] == "model_loading"
    assert err.value.response.headers["retry-after"] == "5"


async def test_a_model_that_failed_to_load_is_not_loading(tmp_path: Path) -> None:
    gguf = tmp_path / "missing.gguf"
    app = loading_app(tmp_path / "ledger.db", model=str(gguf))
    local = app.state.runtime.backends["local"]
    await local.start()  # the load fails: the file does not exist
    try:
        assert not local.is_loading() and not local.is_healthy()
        async with client(app) as c:
            r = await c.post("/v1/chat/completions", json={**CHAT, "model": "default"})
    finally:
        await local.close()
        await app.state.runtime.close()
    assert r.status_code == 503 and r.json()["error"]["code"] == "no_compliant_backend"
    assert "GGUF file not found" in r.json()["error"]["message"]
    assert "retry-after" not in r.headers
