"""POST /v1/responses refusals and failures, through the real ASGI app with the official openai
client before a capturing upstream: 400 for what a stateless gateway cannot do (``param``
naming the field) and for malformed items (``param`` naming the place), each with its refused
ledger row; the content policy over every field of the translated request (an IBAN in
``instructions``, a function call's output, a tool's description, ... blocked before it leaves,
or pseudonymised and restored); backend failures, non-streamed and mid-stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.support.responses import TOOLS, Gateway, responses_gateway, stream_events


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with responses_gateway(tmp_path) as gateway:
        yield gateway


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


IBAN = "FR7630006000011234567890189"  # checksum-valid
SPACED_IBAN = "FR76 3000 6000 0112 3456 7890 189"
IBAN_PLACES: dict[str, dict[str, Any]] = {
    "instructions": {"instructions": f"Pay to {IBAN}."},
    "user": {"user": IBAN},  # forwarded as chat's user: client text, scanned like the rest
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
    events, final = await stream_events(gw, model="pseudo", input=text)
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


IMAGE = {"type": "input_image", "image_url": "https://example.org/cat.png"}
CAPABILITY_GAPS: list[tuple[dict[str, Any], str, str]] = [
    (
        {"instructions": "Describe.", "input": [
            {"role": "user", "content": "hi"},
            {"role": "user", "content": [{"type": "input_text", "text": "this:"}, IMAGE]},
        ]},
        "input[1].content[1]",
        "unsupported_parameter",
    ),
    (
        {"input": [
            {"role": "user", "content": "look"},
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": [IMAGE]},
        ]},
        "input[2].output[0]",
        "unsupported_parameter",
    ),
    ({"text": {"format": {"type": "json_object"}}}, "text.format", "unsupported_parameter"),
    ({"input": "many words " * 200}, "input", "context_length_exceeded"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "param", "code"), CAPABILITY_GAPS)
async def test_a_capability_gap_names_the_place_in_the_request(
    gw: Gateway, body: dict[str, Any], param: str, code: str
) -> None:
    """Placement names chat places (``messages[2].content[1]``, ``response_format``); a
    Responses client is told its own (``input[1].content[1]``, ``text.format``)."""
    with pytest.raises(openai.BadRequestError) as info:
        await gw.client.post(
            "/responses", body={"model": "small", "input": "hi", **body}, cast_to=httpx.Response
        )
    err = info.value.body
    assert (err["param"], err["code"]) == (param, code), err
    assert "messages" not in err["message"] and "response_format" not in err["message"], err
    assert gw.up.captured == []
