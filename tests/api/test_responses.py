"""POST /v1/responses (issue #13 item 3) through the real ASGI app with the official openai client
(``client.responses.create`` / ``stream`` / ``parse``), in front of a capturing loopback
OpenAI-compatible upstream: the translation to the chat request that leaves (what the upstream
receives), the response object and its typed events, the 400s of what a stateless gateway
cannot do, the ledger row."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from souverain.api.app import create_app
from souverain.config import parse_config
from souverain.ledger import Ledger
from tests.support.configs import openai_upstream
from tests.support.upstream import Upstream


class Gateway:
    def __init__(self, client: openai.AsyncOpenAI, up: Upstream, runtime: Any, url: str):
        self.client, self.up, self.runtime, self.ledger_url = client, up, runtime, url

    def sent(self, i: int = -1) -> dict[str, Any]:
        """The body the upstream received (the last one by default)."""
        return json.loads(self.up.captured[i])

    def rows(self) -> list[dict[str, Any]]:
        with Ledger.open(self.ledger_url) as ledger:
            assert ledger.verify().ok
            return [r for r in ledger.rows() if r["status"] != "pending"]


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    with Upstream() as up:
        config = parse_config(
            {
                "site": {"country": "FR"},
                "backends": [
                    openai_upstream("remote", up.base_url, self_hosted=False, operator="Remote")
                ],
                "use_cases": [
                    {"name": "chat", "backends": ["remote"], "policy": {"personal_data": "allow"}},
                    {"name": "block", "backends": ["remote"], "policy": {"personal_data": "block"}},
                ],
                "ledger": {"url": f"sqlite:///{tmp_path / 'ledger.db'}"},
            }
        )
        app = create_app(config)
        runtime = app.state.runtime
        await runtime.start()
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
        client = openai.AsyncOpenAI(
            base_url="http://gw/v1", api_key="none", http_client=http, max_retries=0
        )
        try:
            yield Gateway(client, up, runtime, config.ledger.url)
        finally:
            await http.aclose()
            await runtime.close()


async def test_a_string_input_is_a_user_turn_and_the_answer_a_response(gw: Gateway) -> None:
    resp = await gw.client.responses.create(
        model="chat",
        input="Bonjour",
        instructions="Answer in French.",
        max_output_tokens=20,
        temperature=0.5,
        top_p=0.9,
        metadata={"ticket": "42"},
    )
    assert resp.id.startswith("resp_") and resp.object == "response"
    assert resp.status == "completed" and resp.error is None and resp.incomplete_details is None
    assert resp.model == "remote" and resp.output_text == "You said: Bonjour"
    (msg,) = resp.output
    assert msg.type == "message" and msg.role == "assistant" and msg.status == "completed"
    assert msg.id.startswith("msg_") and msg.content[0].type == "output_text"
    assert resp.usage is not None and resp.usage.input_tokens == 11
    assert resp.usage.output_tokens == 3 and resp.usage.total_tokens == 14
    assert resp.instructions == "Answer in French." and resp.max_output_tokens == 20
    assert resp.metadata == {"ticket": "42"} and resp.temperature == 0.5 and resp.top_p == 0.9
    assert resp.tools == [] and resp.tool_choice == "auto" and resp.parallel_tool_calls is True
    # what left: the chat request it means, nothing of the Responses-only fields
    sent = gw.sent()
    assert sent["messages"] == [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "Bonjour"},
    ]
    assert sent["max_tokens"] == 20 and sent["temperature"] == 0.5 and sent["top_p"] == 0.9
    assert not {"metadata", "instructions", "input", "max_output_tokens"} & set(sent)

    (row,) = gw.rows()
    assert row["request_id"] == resp.id and row["operation"] == "responses"
    assert (row["status"], row["backend"], row["use_case"]) == ("completed", "remote", "chat")
    assert row["stream"] is False or row["stream"] == 0


async def test_items_become_the_conversation_they_mean(gw: Gateway) -> None:
    raw = await gw.client.responses.with_raw_response.create(
        model="chat",
        input=[
            {"role": "developer", "content": "Be brief."},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "What is in"},
                {"type": "input_image", "image_url": "https://example.org/cat.png", "detail": "low"},
            ]},
            {"type": "message", "role": "assistant",
             "content": [{"type": "output_text", "text": "Let me check."}]},
            {"type": "function_call", "call_id": "call_a", "name": "look", "arguments": "{}"},
            {"type": "function_call", "call_id": "call_b", "name": "look", "arguments": '{"x":1}'},
            {"type": "function_call_output", "call_id": "call_a", "output": "a cat"},
            {"type": "function_call_output", "call_id": "call_b",
             "output": [{"type": "input_text", "text": "a mat"}]},
            {"role": "user", "content": "so?"},
        ],
    )  # fmt: skip
    assert raw.headers["x-souverain-backend"] == "remote"
    assert raw.headers["x-request-id"] == raw.parse().id
    assert gw.sent()["messages"] == [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [
            {"type": "text", "text": "What is in"},
            {"type": "image_url", "image_url": {"url": "https://example.org/cat.png", "detail": "low"}},
        ]},
        {"role": "assistant", "content": [{"type": "text", "text": "Let me check."}], "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "look", "arguments": "{}"}},
            {"id": "call_b", "type": "function", "function": {"name": "look", "arguments": '{"x":1}'}},
        ]},
        {"role": "tool", "tool_call_id": "call_a", "content": "a cat"},
        {"role": "tool", "tool_call_id": "call_b", "content": [{"type": "text", "text": "a mat"}]},
        {"role": "user", "content": "so?"},
    ]  # fmt: skip


async def test_a_function_call_without_text_opens_an_assistant_turn(gw: Gateway) -> None:
    await gw.client.responses.create(
        model="chat",
        input=[
            {"role": "user", "content": "weather?"},
            {"type": "function_call", "call_id": "c1", "name": "w", "arguments": {"city": "Nice"}},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        ],
    )
    assert gw.sent()["messages"][1:] == [
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "w", "arguments": '{"city":"Nice"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]  # fmt: skip
