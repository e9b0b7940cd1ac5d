"""What leaves is built by one function from every field of the request (a field added to
GenerationRequest later is sent and scanned without anyone listing it), and the request is
rebuilt from the rewritten body only."""

from __future__ import annotations

from dataclasses import fields

import httpx

from souverain.api.app import create_app
from souverain.backends.base import GenerationRequest
from souverain.backends.egress import NOT_SENT, egress_body, with_body
from souverain.config import parse_config
from souverain.detect.messages import MAX_DEPTH
from tests.support.configs import openai_upstream


def full_request() -> GenerationRequest:
    values = {
        "kind": "chat",
        "messages": [{"role": "user", "content": "m"}],
        "prompt": "p",
        "max_tokens": 3,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop": ["s"],
        "seed": 7,
        "response_format": {"type": "json_object"},
        "tools": [{"type": "function", "function": {"name": "t"}}],
        "tool_choice": "auto",
        "input": ["i"],
        "dimensions": 64,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "logprobs": True,
        "top_logprobs": 2,
        "extra": {"top_k": 5},  # a field GenerationRequest does not name
        "request_id": "r",
    }
    names = {f.name for f in fields(GenerationRequest)}
    # a field added to GenerationRequest gets a value here, so the checks below cover it
    values.update({n: f"value of {n}" for n in names - set(values)})
    return GenerationRequest(**values)


def test_every_field_but_bookkeeping_leaves() -> None:
    req = full_request()
    body = egress_body(req)
    sent = {f.name for f in fields(GenerationRequest)} - NOT_SENT
    assert sent <= set(body) and "top_k" in body
    assert not {"kind", "request_id", "extra"} & set(body)


def test_the_request_is_rebuilt_from_the_body_only() -> None:
    req = full_request()
    body = egress_body(req)
    body["messages"] = [{"role": "user", "content": "<X>"}]
    del body["tools"]
    body["seed"] = "<PAYMENT_CARD_1>"  # a typed number never becomes text
    new = with_body(req, body)
    assert new.messages == [{"role": "user", "content": "<X>"}]
    assert new.tools is None and new.seed is None and new.request_id == "r"
    assert new.extra == {"top_k": 5}
    assert egress_body(with_body(req, egress_body(req))) == egress_body(req)


async def test_a_body_nested_beyond_reason_is_a_400() -> None:
    cfg = parse_config(
        {
            "backends": [openai_upstream("up", "http://127.0.0.1:9/v1")],
            "use_cases": [{"name": "u", "backends": ["up"]}],
        }
    )
    app = create_app(cfg)
    deep: object = "x"
    for _ in range(MAX_DEPTH + 5):
        deep = {"a": deep}
    body = {
        "model": "u",
        "messages": [{"role": "user", "content": [{"type": "custom", "x": deep}]}],
    }
    await app.state.runtime.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw"
        ) as c:
            r = await c.post("/v1/chat/completions", json=body)
    finally:
        await app.state.runtime.close()
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_value"
