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
from pydantic import BaseModel

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
                    {
                        "name": "pseudo",
                        "backends": ["remote"],
                        "policy": {"personal_data": "pseudonymize"},
                    },
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


async def _events(gw: Gateway, **kwargs: Any) -> tuple[list[Any], Any]:
    """The typed events of a streamed response through the SDK's stream helper (which checks
    item identities and order), and its final response."""
    async with gw.client.responses.stream(**kwargs) as stream:
        events = [ev async for ev in stream]
        final = await stream.get_final_response()
    return events, final


MESSAGE_EVENTS = [
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
]


async def test_streamed_text_events_in_order_with_sequence_numbers(gw: Gateway) -> None:
    events, final = await _events(gw, model="chat", input="one two three", max_output_tokens=9)
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


TOOLS: list[Any] = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    },
    {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}},
]
CALLS = [
    {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    {"name": "get_time", "arguments": "{}"},
]


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
    events, final = await _events(gw, model="chat", input="Weather?", tools=TOOLS)
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


BAD: list[tuple[dict[str, Any], str | None, str]] = [
    ({"previous_response_id": "resp_1"}, "previous_response_id", "unsupported_parameter"),
    ({"store": True}, "store", "unsupported_parameter"),
    ({"background": True}, "background", "unsupported_parameter"),
    ({"conversation": "conv_1"}, "conversation", "unsupported_parameter"),
    ({"prompt": {"id": "pmpt_1"}}, "prompt", "unsupported_parameter"),
    ({"include": ["message.output_text.logprobs"]}, "include", "unsupported_parameter"),
    ({"reasoning": {"effort": "high"}}, "reasoning", "unsupported_parameter"),
    ({"top_logprobs": 2}, "top_logprobs", "unsupported_parameter"),
    ({"truncation": "auto"}, "truncation", "unsupported_parameter"),
    ({"max_tool_calls": 2}, "max_tool_calls", "unsupported_parameter"),
    ({"text": {"verbosity": "low"}}, "text.verbosity", "unsupported_parameter"),
    *[
        ({"tools": [TOOLS[0], {"type": t}]}, "tools[1].type", "unsupported_parameter")
        for t in (
            "web_search",
            "web_search_preview",
            "file_search",
            "code_interpreter",
            "computer_use_preview",
            "image_generation",
            "mcp",
        )
    ],
    ({"tools": [{"type": "nope"}]}, "tools[0].type", "invalid_value"),
    ({"tools": [{"type": "function"}]}, "tools[0].name", "missing_required_parameter"),
    ({"tools": [{"type": "function", "name": ""}]}, "tools[0].name", "invalid_value"),
    ({"tools": [{"type": "function", "name": "f", "parameters": 3}]}, "tools[0].parameters",
     "invalid_value"),
    ({"tools": [{"type": "function", "name": "f", "strict": "yes"}]}, "tools[0].strict",
     "invalid_value"),
    ({"tools": [{"type": "function", "name": "f", "description": 5}]}, "tools[0].description",
     "invalid_value"),
    ({"tool_choice": {"type": "web_search_preview"}, "tools": TOOLS}, "tool_choice",
     "unsupported_parameter"),
    ({"tool_choice": {"type": "allowed_tools"}, "tools": TOOLS}, "tool_choice",
     "unsupported_parameter"),
    ({"tool_choice": "required"}, "tool_choice", "invalid_value"),
    ({"tool_choice": "sometimes", "tools": TOOLS}, "tool_choice", "invalid_value"),
    ({"tool_choice": {"type": "function"}, "tools": TOOLS}, "tool_choice.name",
     "missing_required_parameter"),
    ({"tool_choice": {"type": "function", "name": "nope"}, "tools": TOOLS}, "tool_choice",
     "invalid_value"),
    ({"input": []}, "input", "invalid_value"),
    ({"input": 3}, "input", "invalid_value"),
    ({"input": None}, "input", "invalid_value"),
    ({"input": ["hi"]}, "input[0]", "invalid_value"),
    ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]", "unsupported_parameter"),
    ({"input": [{"type": "reasoning", "id": "rs_1", "summary": []}]}, "input[0]",
     "unsupported_parameter"),
    ({"input": [{"type": "web_search_call", "id": "ws_1"}]}, "input[0]", "unsupported_parameter"),
    ({"input": [{"type": "mcp_call", "id": "mcp_1"}]}, "input[0]", "unsupported_parameter"),
    ({"input": [{"type": "shout"}]}, "input[0].type", "invalid_value"),
    ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role", "invalid_value"),
    ({"input": [{"role": "user"}]}, "input[0].content", "missing_required_parameter"),
    ({"input": [{"role": "user", "content": 3}]}, "input[0].content", "invalid_value"),
    ({"input": [{"role": "user", "content": [{"type": "input_text"}]}]},
     "input[0].content[0].text", "missing_required_parameter"),
    ({"input": [{"role": "user", "content": [{"type": "input_text", "text": 1}]}]},
     "input[0].content[0].text", "invalid_value"),
    ({"input": [{"role": "user", "content": ["x"]}]}, "input[0].content[0]", "invalid_value"),
    ({"input": [{"role": "user", "content": [{"type": "input_video"}]}]},
     "input[0].content[0].type", "invalid_value"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}]},
     "input[0].content[0].file_id", "unsupported_parameter"),
    ({"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file_1"}]}]},
     "input[0].content[0]", "unsupported_parameter"),
    ({"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}, "input[0].call_id",
     "missing_required_parameter"),
    ({"input": [{"type": "function_call", "call_id": "c", "arguments": "{}"}]}, "input[0].name",
     "missing_required_parameter"),
    ({"input": [{"type": "function_call", "call_id": "c", "name": "f"}]}, "input[0].arguments",
     "missing_required_parameter"),
    ({"input": [{"type": "function_call_output", "call_id": "c"}]}, "input[0].output",
     "missing_required_parameter"),
    ({"input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id",
     "missing_required_parameter"),
    ({"input": [{"role": "system", "content": "only rules"}]}, "input", "invalid_value"),
    ({"text": {"format": {"type": "json_schema", "name": "x"}}}, "text.format", "invalid_value"),
    ({"text": {"format": {"type": "yaml"}}}, "text.format.type", "invalid_value"),
    ({"max_output_tokens": 0}, "max_output_tokens", "invalid_value"),
    ({"temperature": 3}, "temperature", "invalid_value"),
    ({"top_p": -1}, "top_p", "invalid_value"),
    ({"stream": "maybe"}, "stream", "invalid_value"),
    ({"metadata": {"k": 1}}, "metadata.k", "invalid_value"),
    ({"model": ""}, "model", "invalid_value"),
    ({"model": None}, "model", "invalid_value"),
    ({"model": "nope"}, "model", "model_not_found"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "param", "code"), BAD)
async def test_bad_or_stateful_input_is_an_openai_shaped_400(
    gw: Gateway, body: dict[str, Any], param: str | None, code: str
) -> None:
    request = {"model": "chat", "input": "hi", **body}
    with pytest.raises(openai.APIStatusError) as info:
        await gw.client.post("/responses", body=request, cast_to=httpx.Response)
    err = info.value.response.json()["error"]
    assert info.value.status_code == (404 if code == "model_not_found" else 400), err
    assert (err["param"], err["code"]) == (param, code), err
    assert set(err) == {"message", "type", "param", "code"} and err["message"]
    assert err["type"] == "invalid_request_error"
    if code == "unsupported_parameter":
        assert "not supported" in err["message"] or "stateless" in err["message"]
    assert gw.up.captured == []  # nothing left
    (row,) = gw.rows()  # every authenticated request has its row
    assert (row["status"], row["operation"], row["http_status"]) == (
        "refused",
        "responses",
        info.value.status_code,
    )


async def test_missing_input_and_a_body_that_is_not_json(gw: Gateway) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await gw.client.post("/responses", body={"model": "chat"}, cast_to=httpx.Response)
    assert info.value.body["param"] == "input"
    assert info.value.body["code"] == "missing_required_parameter"
    http = gw.client._client
    resp = await http.post(
        "/v1/responses", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_json"
    ops = [r["operation"] for r in gw.rows()]
    assert ops == ["responses", "responses"]


async def test_the_route_is_in_openapi(gw: Gateway) -> None:
    spec = (await gw.client._client.get("/openapi.json")).json()
    post = spec["paths"]["/v1/responses"]["post"]
    assert "400" in post["responses"] and "requestBody" in post


IBAN = "FR7630006000011234567890189"  # checksum-valid
SPACED_IBAN = "FR76 3000 6000 0112 3456 7890 189"
IBAN_PLACES: dict[str, dict[str, Any]] = {
    "instructions": {"instructions": f"Pay to {IBAN}."},
    "input_text": {"input": [{"role": "user", "content": [{"type": "input_text", "text": IBAN}]}]},
    "function_call_output": {
        "input": [
            {"role": "user", "content": "pay"},
            {"type": "function_call", "call_id": "c1", "name": "pay", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": f"paid to {SPACED_IBAN}"},
        ]
    },
    "function_call arguments": {
        "input": [
            {"role": "user", "content": "pay"},
            {"type": "function_call", "call_id": "c1", "name": "pay",
             "arguments": json.dumps({"to": IBAN})},
        ]
    },
    "tool description": {
        "tools": [{"type": "function", "name": "pay", "description": f"pays {IBAN} only"}]
    },
    "tool parameters": {
        "tools": [{"type": "function", "name": "pay", "parameters": {
            "type": "object", "properties": {"to": {"type": "string", "const": IBAN}}}}]
    },
    "json_schema": {
        "text": {"format": {"type": "json_schema", "name": "p", "description": f"to {IBAN}",
                            "schema": {"type": "object"}}}
    },
}  # fmt: skip


@pytest.mark.parametrize("place", IBAN_PLACES)
@pytest.mark.parametrize("stream", [False, True])
async def test_an_iban_in_any_field_is_blocked_before_it_leaves(
    gw: Gateway, place: str, stream: bool
) -> None:
    body = {"model": "block", "input": "hello", "stream": stream, **IBAN_PLACES[place]}
    with pytest.raises(openai.PermissionDeniedError) as info:
        await gw.client.post("/responses", body=body, cast_to=httpx.Response)
    assert info.value.body["code"] == "sensitive_data_blocked"
    assert info.value.response.headers["x-souverain-decision"] == "refused"
    assert gw.up.captured == []
    (row,) = gw.rows()
    assert (row["status"], row["operation"], row["use_case"]) == ("refused", "responses", "block")
    assert row["data_types"].get("iban") == 1
    # the same request on a use case that allows it does leave, with the IBAN (the test's control)
    await gw.client.post("/responses", body={**body, "model": "chat"}, cast_to=httpx.Response)
    assert IBAN in gw.up.all_bytes().decode().replace(" ", "")


async def test_pseudonymised_then_restored_in_the_answer(gw: Gateway) -> None:
    """On a pseudonymize use case the upstream sees a placeholder; the client gets its IBAN back
    (the upstream echoes the user's text), streamed and not."""
    text = f"my IBAN is {SPACED_IBAN}"
    resp = await gw.client.responses.create(model="pseudo", input=text)
    assert resp.output_text == f"You said: {text}"
    events, final = await _events(gw, model="pseudo", input=text)
    streamed = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert streamed == final.output_text == f"You said: {text}"
    sent = gw.up.all_bytes().decode()
    assert "3000 6000" not in sent and IBAN not in sent and "IBAN_" in sent
    assert {r["decision"] for r in gw.rows()} == {"pseudonymized"}


async def test_a_backend_failure_non_streamed_is_a_502(gw: Gateway) -> None:
    gw.up.mode = "status500"
    with pytest.raises(openai.APIStatusError) as info:
        await gw.client.responses.create(model="chat", input="hi")
    assert info.value.status_code == 502 and info.value.body["code"] == "backend_bad_response"
    assert info.value.response.headers["x-souverain-decision"] == "failed"
    (row,) = gw.rows()
    assert (row["status"], row["operation"]) == ("failed", "responses")


async def test_a_backend_failure_mid_stream_is_response_failed(gw: Gateway) -> None:
    gw.up.mode = "reset_mid_stream"
    stream = await gw.client.responses.create(model="chat", input="one two three four", stream=True)
    events = [ev async for ev in stream]
    types = [e.type for e in events]
    assert types[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert "response.output_text.delta" in types and "response.completed" not in types
    failed = events[-1]
    assert failed.type == "response.failed" and failed.response.status == "failed"
    assert failed.response.error is not None and failed.response.error.code == "server_error"
    assert "backend" in failed.response.error.message
    assert failed.response.output[0].status == "incomplete"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    (row,) = gw.rows()
    assert (row["status"], row["operation"], row["stream"]) == ("failed", "responses", True)
