from __future__ import annotations

from souverain.detect.messages import iter_prompt_texts, iter_texts, map_prompt, map_texts

MESSAGES = [
    {"role": "system", "content": "s"},
    {"role": "developer", "content": "d"},
    {"role": "user", "content": [{"type": "text", "text": "u1"}, {"type": "input_text", "text": "u2"},
                                 {"type": "image_url", "image_url": {"url": "data:x"}}, "u3"]},
    {"role": "assistant", "content": "a", "refusal": "r", "tool_calls": [
        {"id": "1", "type": "function", "function": {"name": "f", "arguments": '{"x": "t1"}'}},
        {"id": "2", "type": "function", "function": {"name": "g", "arguments": "{}"}}]},
    {"role": "assistant", "content": None, "function_call": {"name": "h", "arguments": '{"y": 1}'}},
    {"role": "tool", "tool_call_id": "1", "content": "tool out"},
    {"role": "function", "name": "h", "content": "fn out"},
    {"role": "user"},
]  # fmt: skip


def test_iter_texts_covers_every_role_and_part() -> None:
    assert list(iter_texts(MESSAGES)) == [
        "s", "d", "u1", "u2", "u3", "a", "r", '{"x": "t1"}', "{}", '{"y": 1}', "tool out", "fn out",
    ]  # fmt: skip


def test_map_texts_is_a_deep_copy() -> None:
    out = map_texts(MESSAGES, str.upper)
    assert list(iter_texts(out)) == [t.upper() for t in iter_texts(MESSAGES)]
    assert MESSAGES[2]["content"][0]["text"] == "u1"
    assert out[2]["content"][2] == MESSAGES[2]["content"][2]
    assert out[3]["tool_calls"][0]["function"]["name"] == "f"


def test_prompt_helpers() -> None:
    assert list(iter_prompt_texts("p")) == ["p"]
    assert list(iter_prompt_texts(["a", "b"])) == ["a", "b"]
    assert list(iter_prompt_texts([1, 2])) == []
    assert map_prompt(["a", 3], str.upper) == ["A", 3]
    assert map_prompt("a", str.upper) == "A"
