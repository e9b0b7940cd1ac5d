"""Scan what you send (issue #11, item 1): a valid IBAN placed in any field of a chat request
never reaches a non-self-hosted upstream, neither for a `block` use case (403) nor for a
`pseudonymize` one (200, placeholder sent, original restored), and the ledger counts it.

Against a real gateway on loopback with the official `openai` client, and a capturing
OpenAI-compatible upstream."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest

from tests.support.egress import CARD, IBAN, NIR, egress_gateway, leaks, ledger_row

SPACED = IBAN
NBSP = IBAN.replace(" ", "\u00a0")
TOOL = {
    "type": "function",
    "function": {
        "name": "pay",
        "description": "Pays",
        "parameters": {"type": "object", "properties": {"to": {"type": "string"}}},
    },
}


def user(text: str = "hello") -> dict[str, Any]:
    return {"role": "user", "content": text}


def with_tool_history(**call: Any) -> list[dict[str, Any]]:
    fn = {"name": "pay", "arguments": "{}", **call.pop("function", {})}
    tc = {"id": call.pop("id", "call_1"), "type": "function", "function": fn}
    return [
        user(),
        {"role": "assistant", "content": None, "tool_calls": [tc]},
        {"role": "tool", "tool_call_id": call.pop("tool_call_id", tc["id"]), "content": "ok"},
    ]


def tool(**fn: Any) -> dict[str, Any]:
    return {"type": "function", "function": {**TOOL["function"], **fn}}


# Each case: the keyword arguments of chat.completions.create (model and max_tokens added).
CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "content": lambda: {"messages": [user(f"IBAN {SPACED}")]},
    "messages[].name": lambda: {"messages": [{**user(), "name": compact_iban()}]},
    "tool_call_id": lambda: {"messages": with_tool_history(id=compact_iban())},
    "tool_calls arguments (string)": lambda: {
        "messages": with_tool_history(function={"arguments": json.dumps({"to": SPACED})})
    },
    "tool_calls arguments (escaped string)": lambda: {
        "messages": with_tool_history(function={"arguments": json.dumps({"to": NBSP})})
    },
    "tool_calls arguments (JSON object)": lambda: {
        "messages": with_tool_history(function={"arguments": {"to": {"iban": SPACED}}})
    },
    "tool_calls arguments (a number)": lambda: {
        "messages": with_tool_history(function={"arguments": {"card": int(CARD.replace(" ", ""))}})
    },
    "tools[].function.description": lambda: {
        "messages": [user()],
        "tools": [tool(description=f"pays to {SPACED}")],
    },
    "parameter schema description": lambda: {
        "messages": [user()],
        "tools": [
            tool(
                parameters={
                    "type": "object",
                    "properties": {"to": {"type": "string", "description": f"e.g. {NIR}"}},
                }
            )
        ],
    },
    "parameter schema enum": lambda: {
        "messages": [user()],
        "tools": [
            tool(
                parameters={
                    "type": "object",
                    "properties": {"to": {"type": "string", "enum": ["a", SPACED]}},
                }
            )
        ],
    },
    "parameter schema property name": lambda: {
        "messages": [user()],
        "tools": [
            tool(parameters={"type": "object", "properties": {compact_iban(): {"type": "string"}}})
        ],
    },
    "response_format.json_schema": lambda: {
        "messages": [user()],
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "x",
                "description": f"account {SPACED}",
                "schema": {"type": "object"},
            },
        },
    },
    "stop": lambda: {"messages": [user()], "stop": [SPACED]},
    "user (the end-user id, forwarded)": lambda: {"messages": [user()], "user": compact_iban()},
    "tool_choice": lambda: {
        "messages": [user()],
        "tools": [TOOL],
        "tool_choice": {"type": "function", "function": {"name": "pay", "note": SPACED}},
    },
    "unknown content part": lambda: {
        "messages": [
            {"role": "user", "content": [{"type": "custom_note", "text": f"IBAN {SPACED}"}]}
        ]
    },
    "image_url URL": lambda: {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {
                        "type": "image_url",
                        "image_url": {"url": f"https://img.example/a.png?acct={compact_iban()}"},
                    },
                ],
            }
        ]
    },
    "text part with fullwidth and zero-width spelling": lambda: {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "ＦＲ７６\u200b" + SPACED[4:]}],
            }
        ]
    },
}


def compact_iban() -> str:
    return SPACED.replace(" ", "")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[openai.OpenAI, Any, Any]]:
    with egress_gateway(tmp_path_factory.mktemp("egress")) as (base, up, runtime):
        yield openai.OpenAI(base_url=base, api_key="x", max_retries=0), up, runtime


@pytest.mark.parametrize("case", list(CASES))
def test_blocked_everywhere(case: str, gateway: tuple[openai.OpenAI, Any, Any]) -> None:
    client, up, runtime = gateway
    before = len(up.captured)
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model="block", max_tokens=4, **CASES[case]())
    err = info.value.body
    assert isinstance(err, dict) and err["code"] == "sensitive_data_blocked"
    assert len(up.captured) == before  # nothing left
    row = ledger_row(runtime, info.value.response.headers["x-request-id"])
    assert row["status"] == "refused" and row["data_types"], row["data_types"]


@pytest.mark.parametrize("case", list(CASES))
def test_pseudonymized_everywhere(case: str, gateway: tuple[openai.OpenAI, Any, Any]) -> None:
    client, up, runtime = gateway
    before = len(up.captured)
    raw = client.chat.completions.with_raw_response.create(
        model="pseudo", max_tokens=4, **CASES[case]()
    )
    assert raw.headers["x-souverain-decision"] == "pseudonymized"
    assert len(up.captured) == before + 1
    assert leaks(up, [IBAN, NIR, CARD], before) == []
    row = ledger_row(runtime, raw.headers["x-request-id"])
    types = row["data_types"]
    assert row["decision"] == "pseudonymized"
    assert types.get("iban", 0) + types.get("national_id", 0) + types.get("payment_card", 0) >= 1


def test_the_answer_restores_the_placeholder(gateway: tuple[openai.OpenAI, Any, Any]) -> None:
    client, up, _ = gateway
    before = len(up.captured)
    reply = client.chat.completions.create(
        model="pseudo", max_tokens=4, messages=[user(f"IBAN {SPACED}")]
    )
    sent = json.loads(up.captured[before])["messages"][0]["content"]
    assert sent.startswith("IBAN <IBAN_") and SPACED not in sent
    assert reply.choices[0].message.content == f"You said: IBAN {SPACED}"


def test_fields_the_gateway_does_not_know_never_leave(
    gateway: tuple[openai.OpenAI, Any, Any],
) -> None:
    client, up, _ = gateway
    before = len(up.captured)
    client.chat.completions.create(
        model="pseudo",
        max_tokens=4,
        messages=[{**user(), "x_private": SPACED}],  # type: ignore[list-item]
        metadata={"account": SPACED},
        extra_body={"x_custom": {"iban": SPACED}},
    )
    body = json.loads(up.captured[before])
    assert set(body) <= {"model", "messages", "max_tokens"}
    assert set(body["messages"][0]) == {"role", "content"}
    assert leaks(up, [IBAN], before) == []


SPLIT_PARTS = [
    {"type": "text", "text": "IBAN FR76 3000 6000 0112"},  # neither part is an IBAN alone
    {"type": "text", "text": " 3456 7890 189"},
]


def test_a_value_split_across_text_parts_is_found(gateway: tuple[openai.OpenAI, Any, Any]) -> None:
    client, up, runtime = gateway
    messages: Any = [{"role": "user", "content": SPLIT_PARTS}]
    before = len(up.captured)
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model="block", max_tokens=4, messages=messages)
    assert len(up.captured) == before
    row = ledger_row(runtime, info.value.response.headers["x-request-id"])
    assert row["data_types"] == {"iban": 1}
    # pseudonymised: the run of parts leaves as one part, the whole value replaced
    reply = client.chat.completions.create(model="pseudo", max_tokens=4, messages=messages)
    sent = json.loads(up.captured[before])["messages"][0]["content"]
    assert sent == [{"type": "text", "text": "IBAN <IBAN_1>"}]
    assert reply.choices[0].message.content == f"You said: IBAN {IBAN}"


def test_the_ledger_counts_every_field(gateway: tuple[openai.OpenAI, Any, Any]) -> None:
    """One IBAN in a message and one in a tool description, a NIR in `stop`, a card number
    as a JSON number in tool-call arguments: each counted in the refused row's data_types."""
    client, _, runtime = gateway
    messages = [
        *with_tool_history(function={"arguments": {"card": int(CARD.replace(" ", ""))}}),
        user(f"IBAN {SPACED}"),
    ]
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(
            model="block",
            max_tokens=4,
            messages=messages,  # type: ignore[arg-type]
            tools=[tool(description=f"pays to {SPACED}")],  # type: ignore[list-item]
            stop=[NIR],
        )
    row = ledger_row(runtime, info.value.response.headers["x-request-id"])
    assert row["data_types"] == {"iban": 2, "national_id": 1, "payment_card": 1}
