"""POST /v1/responses (issue #13 item 3) through the real ASGI app with the official openai client
(``client.responses.create`` / ``stream`` / ``parse``), in front of a capturing loopback
OpenAI-compatible upstream: the chat request that leaves (what the upstream receives), the
response object, its typed events, function tools and calls, ``text.format``, the ledger row."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from tests.support.responses import CALLS, TOOLS, Gateway, responses_gateway, stream_events


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with responses_gateway(tmp_path) as gateway:
        yield gateway


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


MESSAGE_EVENTS = [
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
]


async def test_streamed_text_events_in_order_with_sequence_numbers(gw: Gateway) -> None:
    events, final = await stream_events(
        gw, model="chat", input="one two three", max_output_tokens=9
    )
    types = [e.type for e in events]
    deltas = types.count("response.output_text.delta")
    assert deltas == 5  # "You said: one two three" in the upstream's word chunks
    assert types == [
        "response.created",
        "response.in_progress",
        *MESSAGE_EVENTS[:2],
        *["response.output_text.delta"] * deltas,
        *MESSAGE_EVENTS[3:],
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == final.output_text == "You said: one two three"
    created = events[0].response
    assert created.id == final.id and created.status == "in_progress" and created.output == []
    (item,) = final.output
    assert item.status == "completed" and {e.item_id for e in events if hasattr(e, "item_id")} == {
        item.id
    }
    assert final.status == "completed" and final.usage is not None
    assert final.usage.output_tokens > 0 and final.usage.input_tokens == 11
    assert gw.sent()["stream"] is True
    (row,) = gw.rows()
    assert row["request_id"] == final.id and row["operation"] == "responses" and row["stream"]


async def test_raw_sse_frames_name_their_event(gw: Gateway) -> None:
    http = gw.client._client  # the ASGI transport
    async with http.stream(
        "POST", "/v1/responses", json={"model": "chat", "input": "hi", "stream": True}
    ) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        raw = (await resp.aread()).decode()
    frames = [f for f in raw.split("\n\n") if f]
    for frame in frames:
        event_line, data_line = frame.split("\n")
        assert event_line.startswith("event: ") and data_line.startswith("data: ")
        assert json.loads(data_line[6:])["type"] == event_line[7:]
    assert "[DONE]" not in raw and frames[-1].startswith("event: response.completed")


async def test_function_tools_are_nested_for_chat_and_calls_come_back_as_items(
    gw: Gateway,
) -> None:
    gw.up.tool_calls = CALLS
    resp = await gw.client.responses.create(
        model="chat",
        input="Weather and time in Paris?",
        tools=TOOLS,
        tool_choice={"type": "function", "name": "get_weather"},
        parallel_tool_calls=False,
    )
    sent = gw.sent()
    assert sent["tools"] == [
        {"type": "function", "function": {k: v for k, v in t.items() if k != "type"}} for t in TOOLS
    ]
    assert sent["tool_choice"]["type"] == "function"
    assert sent["tool_choice"]["function"]["name"] == "get_weather"
    assert sent["parallel_tool_calls"] is False
    assert resp.status == "completed" and resp.output_text == ""
    weather, clock = resp.output
    assert weather.type == clock.type == "function_call"
    assert (weather.name, weather.call_id, weather.status) == (
        "get_weather",
        "call_up0",
        "completed",
    )
    assert json.loads(weather.arguments) == {"city": "Paris"} and weather.id.startswith("fc_")
    assert (clock.name, clock.arguments) == ("get_time", "{}")
    assert resp.tools[0].name == "get_weather" and resp.parallel_tool_calls is False
    assert resp.tool_choice.name == "get_weather"

    # text before the calls: a message item first
    gw.up.reply = "Let me look."
    resp = await gw.client.responses.create(
        model="chat", input="Weather?", tools=TOOLS, tool_choice="required"
    )
    assert [o.type for o in resp.output] == ["message", "function_call", "function_call"]
    assert resp.output_text == "Let me look." and gw.sent()["tool_choice"] == "required"
    (row,) = [r for r in gw.rows() if r["request_id"] == resp.id]
    assert row["used_tools"]


async def test_streamed_function_calls(gw: Gateway) -> None:
    gw.up.tool_calls, gw.up.reply = CALLS, "Looking."
    events, final = await stream_events(gw, model="chat", input="Weather?", tools=TOOLS)
    types = [e.type for e in events]
    call_events = [
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
    ]
    assert types == [
        "response.created",
        "response.in_progress",
        *MESSAGE_EVENTS,
        *call_events,
        *call_events,  # each call's arguments come in two pieces
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    added = [e for e in events if e.type == "response.output_item.added"]
    assert [a.output_index for a in added] == [0, 1, 2]
    call = added[1].item
    assert call.type == "function_call" and call.name == "get_weather" and call.arguments == ""
    assert call.call_id == "call_up0" and call.status == "in_progress"
    pieces = [
        e.delta
        for e in events
        if e.type == "response.function_call_arguments.delta" and e.item_id == call.id
    ]
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert "".join(pieces) == done[0].arguments == '{"city": "Paris"}'
    assert [d.output_index for d in done] == [1, 2]
    assert [o.type for o in final.output] == ["message", "function_call", "function_call"]
    assert final.output[1].arguments == '{"city": "Paris"}' and final.output[2].name == "get_time"
    assert final.output_text == "Looking."


class City(BaseModel):
    name: str
    population: int


async def test_text_format_json_schema_through_parse(gw: Gateway) -> None:
    gw.up.reply = '{"name": "Lyon", "population": 522000}'
    resp = await gw.client.responses.parse(model="chat", input="A French city?", text_format=City)
    assert resp.output_parsed == City(name="Lyon", population=522000)
    fmt = gw.sent()["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "City"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["required"] == ["name", "population"]
    assert resp.text is not None and resp.text.format.type == "json_schema"
    (row,) = gw.rows()
    assert row["used_json_mode"]

    await gw.client.responses.create(
        model="chat", input="JSON please", text={"format": {"type": "json_object"}}
    )
    assert gw.sent()["response_format"] == {"type": "json_object"}
    await gw.client.responses.create(model="chat", input="x", text={"format": {"type": "text"}})
    assert "response_format" not in gw.sent()


async def test_store_false_and_stateless_defaults_are_fine(gw: Gateway) -> None:
    resp = await gw.client.responses.create(
        model="chat", input="hi", store=False, truncation="disabled", include=[], reasoning={}
    )
    assert resp.status == "completed"


async def test_the_route_is_in_openapi(gw: Gateway) -> None:
    spec = (await gw.client._client.get("/openapi.json")).json()
    post = spec["paths"]["/v1/responses"]["post"]
    assert "400" in post["responses"] and "requestBody" in post


async def test_an_answer_cut_by_max_output_tokens_is_incomplete(gw: Gateway) -> None:
    gw.up.mode = "length"
    resp = await gw.client.responses.create(model="chat", input="a long story", max_output_tokens=5)
    assert resp.status == "incomplete" and resp.output[0].status == "incomplete"
    assert resp.incomplete_details is not None
    assert resp.incomplete_details.reason == "max_output_tokens"
    assert resp.output_text == "You said: a long story"
    events, final = await stream_events(gw, model="chat", input="a long story")
    assert [e.type for e in events][-2:] == ["response.output_item.done", "response.incomplete"]
    assert events[-2].item.status == "incomplete" and final.status == "incomplete"
    assert final.incomplete_details.reason == "max_output_tokens"
