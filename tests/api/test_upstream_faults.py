"""Upstream faults on a real loopback HTTP server: slow first byte, reset mid-stream, invalid JSON,
HTTP 500, nothing listening — each a clear 5xx naming the backend, never the upstream's body."""

from __future__ import annotations

import json

import httpx
import pytest

from souverain.api.app import create_app
from souverain.config import parse_config
from tests.support.configs import openai_upstream
from tests.support.upstream import Upstream, free_port


def app_for(base_url: str, **timeouts: float):
    cfg = parse_config(
        {
            "backends": [
                openai_upstream(
                    "upstream-x",
                    base_url,
                    timeouts={"connect": 1, "first_byte": 5, "total": 30, **timeouts},
                )
            ],
            "use_cases": [{"name": "u", "backends": ["upstream-x"]}],
        }
    )
    return create_app(cfg)


BODY = {"model": "u", "messages": [{"role": "user", "content": "hello there"}]}


async def call(app, body=BODY):
    runtime = app.state.runtime
    await runtime.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw", timeout=30
        ) as c:
            return await c.post("/v1/chat/completions", json=body)
    finally:
        await runtime.close()


async def test_echo_roundtrip_plain_and_stream() -> None:
    with Upstream() as up:
        r = await call(app_for(up.base_url))
        assert (
            r.status_code == 200
            and r.json()["choices"][0]["message"]["content"] == "You said: hello there"
        )
        r = await call(app_for(up.base_url), {**BODY, "stream": True})
        text = "".join(
            json.loads(line[6:])["choices"][0]["delta"].get("content", "")
            for line in r.text.splitlines()
            if line.startswith("data: {") and '"choices":[{' in line
        )
        assert text == "You said: hello there"


async def test_slow_first_byte_is_504() -> None:
    with Upstream("slow_first_byte") as up:
        r = await call(app_for(up.base_url, first_byte=0.5))
    assert r.status_code == 504
    err = r.json()["error"]
    assert err["code"] == "backend_timeout" and "upstream-x" in err["message"]


async def test_reset_mid_stream_ends_stream_with_error() -> None:
    with Upstream("reset_mid_stream") as up:
        r = await call(app_for(up.base_url), {**BODY, "stream": True})
    assert r.status_code == 200
    data = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    assert "upstream-x" in json.loads(data[-2])["error"]["message"]


@pytest.mark.parametrize("mode", ["invalid_json", "invalid_json_stream"])
async def test_invalid_json_is_502(mode: str) -> None:
    with Upstream(mode) as up:
        r = await call(app_for(up.base_url))
        assert r.status_code == 502 and r.json()["error"]["code"] == "backend_bad_response"
        rs = await call(app_for(up.base_url), {**BODY, "stream": True})
        assert "backend_bad_response" in rs.text


async def test_upstream_500_is_502_without_its_body() -> None:
    with Upstream("status500") as up:
        r = await call(app_for(up.base_url))
    assert r.status_code == 502
    assert "upstream-x" in r.text and "sk-abcdef" not in r.text and "kaboom" not in r.text


async def test_nothing_listening_is_503() -> None:
    r = await call(app_for(f"http://127.0.0.1:{free_port()}/v1"))
    assert r.status_code == 503 and r.json()["error"]["code"] == "backend_unavailable"
    assert "upstream-x" in r.json()["error"]["message"]


async def test_upstream_400_quoting_the_request_persists_none_of_it(tmp_path, caplog) -> None:
    """Issue #11 item 5: the ledger, the logs and the client get status, type, code and param
    of an upstream's 400, never its message (which quotes the prompt)."""
    from souverain.ledger import Ledger

    secret = "my IBAN is FR7630006000011234567890189, call me"
    with Upstream("status400_quoting") as up:
        cfg = parse_config(
            {
                "backends": [openai_upstream("upstream-x", up.base_url)],
                "use_cases": [
                    {"name": "u", "backends": ["upstream-x"], "policy": {"personal_data": "allow"}}
                ],
                "ledger": {"url": str(tmp_path / "l.db")},
            }
        )
        body = {"model": "u", "messages": [{"role": "user", "content": secret}]}
        with caplog.at_level("DEBUG"):
            r = await call(create_app(cfg), body)
        assert len(up.captured) == 1 and b"FR7630006000011234567890189" in up.captured[0]
    assert r.status_code == 400
    message = r.json()["error"]["message"]
    assert "HTTP 400" in message and "invalid_request_error" in message
    assert "invalid_value" in message and "messages[0].content" in message
    assert "IBAN" not in message and "Invalid request" not in message
    with Ledger.open(str(tmp_path / "l.db")) as ledger:
        (row,) = list(ledger.rows())
    stored = json.dumps(row, default=str)
    assert "FR763000" not in stored and "call me" not in stored and "Invalid request" not in stored
    assert "invalid_value" in (row["reason"] or "")
    assert "FR763000" not in caplog.text and "call me" not in caplog.text
