"""Tool calls on the embedded model (issue #13 item 1): arguments generated under a grammar built
from each function's JSON schema, so that ``required`` and a named choice always give a call whose
arguments parse and validate; streamed deltas shaped as OpenAI sends them; tool results in a
follow-up turn; a schema keyword the grammar cannot enforce is refused with 400. The real
embedded model behind a real ``souverain serve``, through the official openai client."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from souverain.backends.llamacpp_grammar import validate

pytestmark = pytest.mark.slow

FORECAST = {
    "type": "object",
    "properties": {
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 14},
        "place": {
            "type": "object",
            "properties": {"zip": {"type": "integer", "minimum": 10, "maximum": 99}},
            "required": ["zip"],
        },
        "alerts": {"type": "array", "items": {"enum": ["wind", "rain"]}, "maxItems": 2},
    },
    "required": ["unit", "days", "place", "alerts"],
}
CLOCK = {"type": "object", "properties": {"tz": {"enum": ["UTC", "CET"]}}, "required": ["tz"]}
TOOLS: list[Any] = [
    {"type": "function", "function": {"name": "forecast", "parameters": FORECAST}},
    {
        "type": "function",
        "function": {"name": "clock", "description": "the time", "parameters": CLOCK},
    },
]
SCHEMAS = {"forecast": FORECAST, "clock": CLOCK}
ASK = [{"role": "user", "content": "Will it rain in Paris this week?"}]


@pytest.fixture(scope="module")
def client(embedded_gateway: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=embedded_gateway + "/v1", api_key="unused", max_retries=0)


def _valid(name: str, arguments: str) -> dict[str, Any]:
    args = json.loads(arguments)
    assert validate(args, SCHEMAS[name]) == "", arguments
    return args


def test_named_choice_gives_a_valid_call(client: openai.OpenAI) -> None:
    resp = client.chat.completions.create(
        model="default",
        messages=ASK,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "forecast"}},
        max_tokens=60,
        seed=3,
    )
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "forecast"
    args = _valid("forecast", call.function.arguments)
    assert args["unit"] in ("celsius", "fahrenheit") and 1 <= args["days"] <= 14
    assert 10 <= args["place"]["zip"] <= 99 and set(args["alerts"]) <= {"wind", "rain"}


def test_required_gives_valid_calls(client: openai.OpenAI, parallel: bool | None = False) -> None:
    """parallel_tool_calls=False: exactly one call (the grammar of a list is unit-tested)."""
    extra = {} if parallel is None else {"parallel_tool_calls": parallel}
    resp = client.chat.completions.create(
        model="default",
        messages=ASK,
        tools=TOOLS,
        tool_choice="required",
        max_tokens=80,
        seed=5,
        **extra,
    )
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert 1 <= len(calls) <= (1 if parallel is False else 2)
    assert len({c.id for c in calls}) == len(calls)
    for call in calls:
        _valid(call.function.name, call.function.arguments)


def test_streamed_named_call_deltas(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="default",
        messages=ASK,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "clock"}},
        max_tokens=30,
        stream=True,
        stream_options={"include_usage": True},
    )
    deltas, finishes, usage = [], [], None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for ch in chunk.choices:
            deltas += ch.delta.tool_calls or []
            if ch.finish_reason:
                finishes.append(ch.finish_reason)
    assert finishes == ["tool_calls"] and usage is not None and usage.completion_tokens > 0
    first, rest = deltas[0], deltas[1:]
    assert first.index == 0 and first.id and first.id.startswith("call_")
    assert first.type == "function" and first.function.name == "clock"
    assert first.function.arguments == ""
    assert rest and all(d.index == 0 and d.id is None and d.function.name is None for d in rest)
    _valid("clock", "".join(d.function.arguments or "" for d in rest))


def test_auto_answers_text_or_a_valid_call(client: openai.OpenAI) -> None:
    for seed in range(1):
        resp = client.chat.completions.create(
            model="default",
            messages=ASK,
            tools=TOOLS,
            tool_choice="auto",
            max_tokens=60,
            seed=seed,
        )
        msg = resp.choices[0].message
        if msg.tool_calls:
            assert resp.choices[0].finish_reason == "tool_calls"
            for call in msg.tool_calls:
                _valid(call.function.name, call.function.arguments)
        else:
            assert msg.content is not None and "{" not in msg.content[:1]


def test_follow_up_turn_with_a_tool_result(client: openai.OpenAI) -> None:
    messages: list[Any] = [
        *ASK,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "clock", "arguments": '{"tz": "CET"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "14:05"},
        {"role": "user", "content": "So what time is it?"},
    ]
    resp = client.chat.completions.create(
        model="default", messages=messages, tools=TOOLS, tool_choice="none", max_tokens=12
    )
    assert resp.choices[0].message.content and not resp.choices[0].message.tool_calls


@pytest.mark.parametrize(
    ("schema", "keyword"),
    [
        (
            {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]+$"}}},
            "pattern",
        ),
        ({"type": "object", "properties": {"x": {"type": "number", "minimum": 0.5}}}, "minimum"),
        ({"type": "object", "properties": {"x": {"oneOf": [{"type": "string"}]}}}, "oneOf"),
    ],
)
def test_unsupported_schema_keyword_is_400(
    client: openai.OpenAI, schema: dict[str, Any], keyword: str
) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": schema}}
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(
            model="default", messages=ASK, tools=[tool], tool_choice="required", max_tokens=8
        )
    body: Any = err.value.body
    assert body["code"] == "unsupported_parameter" and body["param"] == "tools"
    assert repr(keyword) in body["message"]
