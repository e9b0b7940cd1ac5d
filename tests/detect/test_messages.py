from __future__ import annotations

import json

import pytest

from souverain.detect.messages import (
    MAX_DEPTH,
    TooDeep,
    collect,
    iter_prompt_texts,
    iter_texts,
    map_prompt,
    map_strings,
    map_texts,
)

MESSAGES = [
    {"role": "system", "content": "s"},
    {"role": "user", "content": [{"type": "text", "text": "u1"}, {"type": "custom_note", "text": "u2"},
                                 {"type": "image_url", "image_url": {"url": "data:x"}}, "u3"]},
    {"role": "assistant", "content": "a", "name": "n", "tool_calls": [
        {"id": "1", "type": "function", "function": {"name": "f", "arguments": '{"x": "t1"}'}},
        {"id": "2", "type": "function", "function": {"name": "g", "arguments": {"obj": "t2"}}}]},
    {"role": "tool", "tool_call_id": "tc", "content": "tool out"},
]  # fmt: skip


def test_every_string_key_and_value_in_document_order() -> None:
    assert list(iter_texts(MESSAGES)) == [
        "role", "system", "content", "s",
        "role", "user", "content", "type", "text", "text", "u1", "type", "custom_note", "text",
        "u2", "type", "image_url", "image_url", "url", "data:x", "u3",
        "role", "assistant", "content", "a", "name", "n", "tool_calls",
        "id", "1", "type", "function", "function", "name", "f", "arguments", '{"x": "t1"}',
        "id", "2", "type", "function", "function", "name", "g", "arguments", "obj", "t2",
        "role", "tool", "tool_call_id", "tc", "content", "tool out",
    ]  # fmt: skip


def test_media_are_counted() -> None:
    body = {"messages": [*MESSAGES, {"role": "user", "content": "data:image/png;base64,AAAA"}]}
    assert collect(body)[1] == 2  # the image_url part and the bare data URL
    audio = {
        "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]
    }
    assert collect(audio)[1] == 1


def test_big_numbers_below_the_top_level_are_text() -> None:
    body = {"seed": 4970101234567893, "tools": [{"x": 4970101234567893, "y": 12, "z": True}]}
    strings = collect(body)[0]
    assert strings.count("4970101234567893") == 1 and "12" not in strings
    out = map_strings(body, lambda t: "<N>" if t == "4970101234567893" else t)
    assert out == {"seed": 4970101234567893, "tools": [{"x": "<N>", "y": 12, "z": True}]}


def test_escaped_json_in_a_string_is_read_decoded_and_rewritten() -> None:
    args = json.dumps({"iban": "FR76\u00a03000"})  # json.dumps escapes: "FR76\\u00a03000"
    assert "\\u00a0" in args
    assert "FR76\u00a03000" in collect({"a": args})[0]
    out = map_strings({"a": args}, lambda t: t.replace("FR76\u00a03000", "<IBAN_1>"))
    assert json.loads(out["a"]) == {"iban": "<IBAN_1>"}
    same = map_strings({"a": args}, lambda t: t)
    assert same["a"] is args  # unchanged: the client's exact text


def test_map_is_a_copy_and_rewrites_keys() -> None:
    out = map_texts(MESSAGES, str.upper)
    assert list(iter_texts(out)) == [t.upper() for t in iter_texts(MESSAGES)]
    assert MESSAGES[1]["content"][0]["text"] == "u1"
    assert out[2]["TOOL_CALLS"][1]["FUNCTION"]["ARGUMENTS"] == {"OBJ": "T2"}


def test_too_deep_is_refused() -> None:
    deep: object = "x"
    for _ in range(MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(TooDeep):
        collect(deep)
    with pytest.raises(TooDeep):
        map_strings(deep, str.upper)


def test_prompt_helpers() -> None:
    assert list(iter_prompt_texts("p")) == ["p"]
    assert list(iter_prompt_texts(["a", "b"])) == ["a", "b"]
    assert list(iter_prompt_texts([1, 2])) == []
    assert map_prompt(["a", 3], str.upper) == ["A", 3]
    assert map_prompt("a", str.upper) == "A"
