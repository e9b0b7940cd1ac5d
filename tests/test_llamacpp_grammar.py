"""The JSON Schema -> GBNF converter and its validator (no model: the grammar is parsed by
llama.cpp's own parser; generation under it is tested in tests/e2e/test_llamacpp_tools.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from llama_cpp.llama_grammar import LlamaGrammar

from souverain.backends.base import GenerationRequest
from souverain.backends.llamacpp_grammar import UnsupportedSchema, integer_range, validate
from souverain.backends.llamacpp_tools import UnsupportedToolSchema, plan, render_messages


def _regex(gbnf: str) -> re.Pattern[str]:
    """An integer_range expression as a regex (it only uses literals, classes, {n} and |)."""
    rx = gbnf.replace('"', "").replace(" ", "")
    return re.compile(f"(?:{rx})")


@pytest.mark.parametrize(
    ("lo", "hi"),
    [(1, 14), (0, 99), (-20, 7), (-15, -3), (10, 99), (95, 1203), (7, None), (None, -4)],
)
def test_integer_range_matches_exactly_the_range(lo: int | None, hi: int | None) -> None:
    rx = _regex(integer_range(lo, hi))
    for n in range(-1300, 1300):
        inside = (lo is None or n >= lo) and (hi is None or n <= hi)
        assert bool(rx.fullmatch(str(n))) == inside, (n, lo, hi)
    assert not rx.fullmatch("-0") and not rx.fullmatch("007")


def _req(schema: dict[str, Any], **kw: Any) -> GenerationRequest:
    tools = [{"type": "function", "function": {"name": "f", "parameters": schema}}]
    return GenerationRequest(kind="chat", messages=[], tools=tools, tool_choice="required", **kw)


def test_grammar_parses_for_a_rich_schema() -> None:
    schema = {
        "type": "object",
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
            }
        },
        "properties": {
            "a": {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}]},
            "b": {"type": ["integer", "boolean"], "minimum": -5, "exclusiveMaximum": 5},
            "c": {"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": 3},
            "d": {"$ref": "#/$defs/node"},
            "e": {"const": {"k": [1, "x"]}},
            "f": {"type": "string", "format": "date", "description": "annotations are ignored"},
        },
        "required": ["b"],
    }
    p = plan("local", _req(schema))
    assert p is not None
    LlamaGrammar.from_string(p.grammar, verbose=False)  # llama.cpp's parser accepts it


@pytest.mark.parametrize("keyword", ["pattern", "uniqueItems", "allOf", "multipleOf"])
def test_unenforceable_keywords_are_refused(keyword: str) -> None:
    inner = {"type": "string", keyword: "x" if keyword == "pattern" else 2}
    if keyword in ("uniqueItems",):
        inner = {"type": "array", "uniqueItems": True}
    if keyword == "allOf":
        inner = {"allOf": [{"type": "string"}]}
    with pytest.raises(UnsupportedToolSchema) as err:
        plan("local", _req({"type": "object", "properties": {"x": inner}}))
    assert repr(keyword) in str(err.value) and err.value.param == "tools"
    assert err.value.code == "unsupported_parameter" and err.value.status == 400


def test_validate() -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 1}, "e": {"enum": [1, "a"]}},
        "required": ["n"],
        "additionalProperties": False,
    }
    assert validate({"n": 2, "e": "a"}, schema) == ""
    assert validate({"n": 0}, schema) and validate({"e": 1}, schema)
    assert validate({"n": True}, schema) and validate({"n": 1, "e": True}, schema)
    assert validate({"n": 1, "z": 1}, schema)
    with pytest.raises(UnsupportedSchema):
        from souverain.backends.llamacpp_grammar import GrammarBuilder

        GrammarBuilder().schema({"type": "string", "pattern": "x"}, "")


def test_messages_render_for_a_template_without_tools() -> None:
    p = plan("local", _req({"type": "object", "properties": {}}))
    msgs = render_messages(
        [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "42"},
            {"role": "user", "content": "and?"},
        ],
        p,
    )
    roles = [m["role"] for m in msgs]
    assert roles == ["system", "user", "assistant", "user"]
    assert "be brief" in msgs[0]["content"] and "- f" in msgs[0]["content"]
    assert msgs[2]["content"] == '{"name": "f", "arguments": {}}'
    assert msgs[3]["content"] == "Result of f: 42\n\nand?"
