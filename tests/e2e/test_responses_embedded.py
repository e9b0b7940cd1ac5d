"""POST /v1/responses on the real embedded Gemma model behind a real ``souverain serve``, with the
official openai client: a text answer (cut by ``max_output_tokens``: ``incomplete``), a streamed
answer whose typed events come in order (through the SDK's stream helper, which checks item
identities), and a named function whose call's arguments parse and validate (grammar sampling)."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from souverain.backends.llamacpp_grammar import validate

pytestmark = pytest.mark.slow

CLOCK = {"type": "object", "properties": {"tz": {"enum": ["UTC", "CET"]}}, "required": ["tz"]}


@pytest.fixture(scope="module")
def client(embedded_gateway: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=embedded_gateway + "/v1", api_key="unused", max_retries=0)


def test_text_answer(client: openai.OpenAI) -> None:
    resp = client.responses.create(
        model="default",
        instructions="Answer briefly.",
        input="What is the capital of France?",
        max_output_tokens=6,
        temperature=0,
    )
    assert resp.id.startswith("resp_") and resp.model == "gemma-3-270m"
    (msg,) = resp.output
    assert msg.type == "message" and resp.output_text.strip()
    assert resp.usage is not None and 0 < resp.usage.output_tokens <= 6
    assert resp.usage.input_tokens > 5
    if resp.usage.output_tokens == 6:  # cut by max_output_tokens (the model rarely stops in 6)
        assert resp.status == "incomplete" and msg.status == "incomplete"
        assert resp.incomplete_details is not None
        assert resp.incomplete_details.reason == "max_output_tokens"
    else:
        assert resp.status == "completed"


def test_streamed_answer_events_in_order(client: openai.OpenAI) -> None:
    with client.responses.stream(
        model="default", input="Name three rivers.", max_output_tokens=8, temperature=0
    ) as stream:
        events = list(stream)  # the helper checks the items' identities and order
    final = events[-1].response  # response.completed, or response.incomplete when cut
    types = [e.type for e in events]
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert deltas and types == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * len(deltas),
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.incomplete" if final.status == "incomplete" else "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(deltas) == final.output_text
    assert final.usage is not None and final.usage.output_tokens <= 8


def test_named_function_call_arguments_parse(client: openai.OpenAI) -> None:
    tools: list[Any] = [
        {"type": "function", "name": "clock", "description": "the time", "parameters": CLOCK}
    ]
    resp = client.responses.create(
        model="default",
        input="What time is it in Paris?",
        tools=tools,
        tool_choice={"type": "function", "name": "clock"},
        max_output_tokens=30,
    )
    assert resp.status == "completed"
    (call,) = resp.output
    assert call.type == "function_call" and call.name == "clock"
    assert call.call_id.startswith("call_") and call.id.startswith("fc_")
    args = json.loads(call.arguments)
    assert validate(args, CLOCK) == "" and args["tz"] in ("UTC", "CET")

    # the call's result in a follow-up turn: the model answers in text
    follow = client.responses.create(
        model="default",
        input=[
            {"role": "user", "content": "What time is it in Paris?"},
            {"type": "function_call", "call_id": call.call_id, "name": "clock",
             "arguments": call.arguments},
            {"type": "function_call_output", "call_id": call.call_id, "output": "14:05"},
        ],
        tools=tools,
        tool_choice="none",
        max_output_tokens=6,
    )  # fmt: skip
    assert [o.type for o in follow.output] == ["message"] and follow.output_text.strip()
