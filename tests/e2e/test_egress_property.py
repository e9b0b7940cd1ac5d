"""Egress is closed, as a property (issue #11, Tests): hypothesis builds random, valid-looking chat
requests, plants a checksum-valid identifier at a random place in the JSON (any field, any depth,
a value or a tool schema's property name, a number in tool-call arguments, split across two
consecutive text parts of a message) in a random spelling
(no-break, narrow no-break and thin spaces, tabs, slashes, dots, zero-width spaces, soft hyphens,
en dashes, fullwidth characters), and sends it through a real gateway with the official `openai`
client. A `block` use case answers 403 and the capturing upstream receives nothing; a
`pseudonymize` one answers 200 and the upstream body holds the identifier in no spelling.

The budget is fixed (``max_examples``) so that the default run stays within seconds."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from tests.support.egress import compact, egress_gateway, strings

#: checksum-valid identifiers reported without a label (compact form)
IDENTIFIERS = {
    "iban FR": "FR7630006000011234567890189",
    "iban DE": "DE89370400440532013000",
    "nir": "284057505614367",
    "card": "4970101234567893",
    "nir of Corsica": "295102A12611122",
    "vat FR, letter check characters": "FRK7399859412",
    "vat AT": "ATU13585627",
}
SEPARATORS = [
    " ",
    "  ",
    "\u00a0",  # no-break space
    "\u202f",  # narrow no-break space
    "\u2009",  # thin space
    "\t",
    "/",
    " / ",
    ".",
    "-",
    "\u2013",  # en dash
    "\u200b",  # zero-width space
    "\u00ad",  # soft hyphen
]
WORDS = st.sampled_from(["bonjour", "please", "summarise", "the", "invoice", "réunion", "Q3", "ok"])
TEXT = st.lists(WORDS, min_size=1, max_size=6).map(" ".join)
#: values whose slot is an enum of the wire format: never planted there
FIXED_KEYS = frozenset({"role", "type", "model"})


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


@st.composite
def spellings(draw: st.DrawFn) -> tuple[str, str]:
    """(compact value, a spelling of it)."""
    value = IDENTIFIERS[draw(st.sampled_from(sorted(IDENTIFIERS)))]
    size = draw(st.sampled_from([2, 3, 4, 5, len(value)]))
    sep = draw(st.sampled_from(SEPARATORS))
    spelled = sep.join(value[i : i + size] for i in range(0, len(value), size))
    if draw(st.booleans()):
        spelled = fullwidth(spelled)
    return value, spelled


def tool(draw: st.DrawFn) -> dict[str, Any]:
    props = {
        draw(st.sampled_from(["to", "amount", "note", "ref"])): {
            "type": "string",
            "description": draw(TEXT),
            **(
                {"enum": draw(st.lists(TEXT, min_size=1, max_size=3))}
                if draw(st.booleans())
                else {}
            ),
        }
        for _ in range(draw(st.integers(1, 3)))
    }
    return {
        "type": "function",
        "function": {
            "name": draw(st.sampled_from(["pay", "lookup", "send"])),
            "description": draw(TEXT),
            "parameters": {"type": "object", "properties": props},
        },
    }


def message(draw: st.DrawFn, i: int) -> list[dict[str, Any]]:
    kind = draw(st.sampled_from(["user", "system", "parts", "tool_round"]))
    if kind == "parts":
        parts = [{"type": "text", "text": draw(TEXT)} for _ in range(draw(st.integers(1, 3)))]
        return [{"role": "user", "content": parts}]
    if kind == "tool_round":
        call_id = f"call_{i}"
        args = {"note": draw(TEXT), "ref": {"memo": draw(TEXT)}}
        fn = {"name": "pay", "arguments": args}
        return [
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": call_id, "type": "function", "function": fn}]},
            {"role": "tool", "tool_call_id": call_id, "content": draw(TEXT)},
        ]  # fmt: skip
    out: dict[str, Any] = {"role": kind, "content": draw(TEXT)}
    if draw(st.booleans()):
        out["name"] = draw(st.sampled_from(["alice", "ops"]))
    return [out]


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    messages = [m for i in range(draw(st.integers(1, 3))) for m in message(draw, i)]
    messages.append({"role": "user", "content": draw(TEXT)})
    body: dict[str, Any] = {"messages": messages}
    if draw(st.booleans()):
        body["tools"] = [tool(draw) for _ in range(draw(st.integers(1, 2)))]
        if draw(st.booleans()):
            name = body["tools"][0]["function"]["name"]
            body["tool_choice"] = {"type": "function", "function": {"name": name}}
    if draw(st.booleans()):
        body["stop"] = draw(st.lists(TEXT, min_size=1, max_size=3))
    if draw(st.booleans()):
        props = {"summary": {"type": "string", "description": draw(TEXT)}}
        schema = {
            "name": "out",
            "description": draw(TEXT),
            "schema": {"type": "object", "properties": props},
        }
        body["response_format"] = {"type": "json_schema", "json_schema": schema}
    return body


def slots(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    """(path, "value" | "key" | "number") of every place an identifier may be planted."""
    if isinstance(node, dict):
        for k, v in node.items():
            if path[-1:] == ("properties",) or (path[-1:] == ("arguments",) and k == "ref"):
                yield (*path, k), "key"
            if k == "arguments":
                yield (*path, k, "amount"), "number"
            if k not in FIXED_KEYS:
                yield from slots(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if path[-1:] == ("content",) and isinstance(v, dict) and v.get("type") == "text":
                yield (*path, i), "split"
            yield from slots(v, (*path, i))
    elif isinstance(node, str):
        yield path, "value"


def plant(body: dict[str, Any], path: tuple[Any, ...], how: str, value: str, spelled: str) -> None:
    *parents, last = path
    node: Any = body
    for p in parents:
        node = node[p]
    if how == "split":  # across this text part and a new one after it
        cut = len(spelled) // 2
        part = node[last]
        node[last] = {**part, "text": f"{part['text']} {spelled[:cut]}"}
        node.insert(last + 1, {"type": "text", "text": f"{spelled[cut:]} {part['text']}"})
    elif how == "key":
        node[spelled] = node.pop(last)
    elif how == "number":
        node[last] = int(value) if value.isdigit() else spelled
    else:
        node[last] = f"{node[last]} {spelled} {node[last]}"


def serialise(body: dict[str, Any], draw: st.DrawFn) -> None:
    """Tool-call arguments leave as a JSON string (escaped or not) or as a JSON object."""
    for m in body["messages"]:
        for call in m.get("tool_calls") or ():
            if draw(st.sampled_from(["string", "escaped", "object"])) != "object":
                ascii_only = draw(st.booleans())
                call["function"]["arguments"] = json.dumps(
                    call["function"]["arguments"], ensure_ascii=ascii_only
                )


@st.composite
def planted(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    body = draw(requests())
    value, spelled = draw(spellings())
    # every kind of place equally likely (a field, not a string, is drawn first)
    groups: dict[str, list[tuple[Any, ...]]] = {}
    for path, how in slots(body):
        field = ".".join(str(p) for p in path[:-1] if isinstance(p, str))
        groups.setdefault(f"{how} in {field}", []).append(path)
    group = draw(st.sampled_from(sorted(groups)))
    path = draw(st.sampled_from(groups[group]))
    plant(body, path, group.split()[0], value, spelled)
    event(f"planted as a {group}")
    serialise(body, draw)
    return body, value


def holds(raw: bytes, value: str) -> bool:
    """Does the upstream body hold ``value`` in any spelling (NFKC, separators ignored)?"""
    texts = [raw.decode("utf-8", "replace"), *strings(json.loads(raw), join_parts=True)]
    flat = [compact(unicodedata.normalize("NFKC", t)) for t in texts]
    return any(value in t for t in flat)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[openai.OpenAI, Any]]:
    with egress_gateway(tmp_path_factory.mktemp("egress-property")) as (base, up, _):
        yield openai.OpenAI(base_url=base, api_key="x", max_retries=0), up


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=planted())
def test_a_planted_identifier_never_leaves(
    case: tuple[dict[str, Any], str], gateway: tuple[openai.OpenAI, Any]
) -> None:
    body, value = case
    note(json.dumps(body, ensure_ascii=True))
    client, up = gateway
    before = len(up.captured)
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model="block", max_tokens=4, **body)
    assert info.value.body["code"] == "sensitive_data_blocked"  # type: ignore[index]
    assert len(up.captured) == before
    raw = client.chat.completions.with_raw_response.create(model="pseudo", max_tokens=4, **body)
    assert raw.headers["x-souverain-decision"] == "pseudonymized"
    assert len(up.captured) == before + 1
    assert not holds(up.captured[before], value), up.captured[before]
