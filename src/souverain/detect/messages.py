"""Walk an OpenAI request for every text that would go upstream.

Chat (``messages``): every role (system, developer, user, assistant, tool, function); ``content``
as a string or as content parts (``{"type": "text", "text": ...}``, also ``input_text`` and
``output_text``); an assistant's ``refusal``; ``tool_calls[].function.arguments`` and the
legacy ``function_call.arguments`` (JSON strings, scanned as they are). Images, audio, names
and ids are not text and are left alone.

Completions (``prompt``): a string or a list of strings.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})


def _slots(message: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
    """(container, key) for every text slot of one message, in a stable order."""
    content = message.get("content")
    if isinstance(content, str):
        yield message, "content"
    elif isinstance(content, list):
        for i, part in enumerate(content):
            if isinstance(part, dict) and part.get("type") in _TEXT_PART_TYPES:
                if isinstance(part.get("text"), str):
                    yield part, "text"
            elif isinstance(part, str):  # lenient clients send bare strings
                yield content, i
    if isinstance(message.get("refusal"), str):
        yield message, "refusal"
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                yield fn, "arguments"
    legacy = message.get("function_call")
    if isinstance(legacy, dict) and isinstance(legacy.get("arguments"), str):
        yield legacy, "arguments"


def iter_texts(messages: list[dict[str, Any]]) -> Iterator[str]:
    """Every text of a chat request that would go upstream, in message order."""
    for message in messages:
        if isinstance(message, dict):
            for container, key in _slots(message):
                yield container[key]


def map_texts(messages: list[dict[str, Any]], fn: Callable[[str], str]) -> list[dict[str, Any]]:
    """A deep copy of ``messages`` with every text replaced by ``fn(text)``; the input is
    left untouched."""
    out = copy.deepcopy(messages)
    for message in out:
        if isinstance(message, dict):
            for container, key in list(_slots(message)):
                container[key] = fn(container[key])
    return out


def iter_prompt_texts(prompt: str | list[str] | None) -> Iterator[str]:
    """The texts of a /v1/completions ``prompt`` (token-id prompts carry no text)."""
    if isinstance(prompt, str):
        yield prompt
    elif isinstance(prompt, list):
        for item in prompt:
            if isinstance(item, str):
                yield item


def map_prompt(prompt: str | list[Any] | None, fn: Callable[[str], str]) -> Any:
    """``prompt`` with every text replaced by ``fn(text)`` (a new object)."""
    if isinstance(prompt, str):
        return fn(prompt)
    if isinstance(prompt, list):
        return [fn(p) if isinstance(p, str) else copy.deepcopy(p) for p in prompt]
    return prompt
