"""Walk an upstream request body for every string in it, generically.

The content policy does not know the OpenAI schema field by field: it walks the whole body that
would leave (``souverain.backends.egress.egress_body``) and sees

- every string value at any depth: message contents and text parts of any type (also types it
  has never heard of), names, ``tool_call_id``, tool-call arguments, tool descriptions and
  parameter schemas, ``response_format``, ``stop``, ``tool_choice``, URLs of image parts, ...;
- every key of every object (the property names of a tool's parameter schema are free text);
- every integer of 6 digits or more below the top level, as its decimal text (a card number sent
  as a JSON number in tool-call arguments); the top level's numbers are the typed sampling
  parameters (``max_tokens``, ``seed``, ...), not text;
- inside a string holding a JSON object or array with escapes (tool-call arguments written
  ``"FR76\\u00a03000..."``), the decoded strings: what the receiver will read.

:func:`map_strings` rewrites the same strings (a new object; the input is left untouched) and
:func:`collect` also counts the media the body carries (images, audio, files, data URLs: content
no text scanner can read). :func:`text_runs` names the runs of consecutive text parts of one
message, whose joined text is scanned too (a value split across parts).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Any

#: deeper bodies are refused (400): no client needs them and recursion must stay bounded
MAX_DEPTH = 64
#: integers with at least this many digits are scanned as text (below the top level)
MIN_NUMBER_DIGITS = 6
_BIG = 10 ** (MIN_NUMBER_DIGITS - 1)

#: content-part types and keys whose content is not text (its URL or data, if a string, is
#: still scanned as text)
MEDIA_TYPES = frozenset(
    {"image_url", "input_image", "image", "input_audio", "audio", "file", "input_file", "video_url"}
)
MEDIA_KEYS = frozenset({"image_url", "input_audio", "file", "file_data", "audio", "video_url"})


class TooDeep(ValueError):
    """The body nests deeper than :data:`MAX_DEPTH`."""


def _number_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if abs(value) >= _BIG else None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value)) if abs(value) >= _BIG else None
    return None


def _nested(text: str) -> Any:
    """The decoded JSON object/array of a string that holds one with escapes, else None."""
    if "\\" not in text or text.lstrip()[:1] not in ("{", "["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict | list) else None


def _is_media(node: dict[str, Any]) -> bool:
    kind = node.get("type")
    return (isinstance(kind, str) and kind in MEDIA_TYPES) or any(k in MEDIA_KEYS for k in node)


def _data_url(text: str) -> bool:
    return text[:5].lower() == "data:" or text.lstrip()[:5].lower() == "data:"


def collect(body: Any) -> tuple[list[str], int]:
    """Every string of ``body`` to scan (see the module doc), and how many media it carries
    (image/audio/file parts and data URLs). Raises :class:`TooDeep`."""
    out: list[str] = []
    media = 0
    stack: list[tuple[Any, int, bool]] = [(body, 0, False)]  # (node, depth, inside a media part)
    while stack:
        node, depth, inside = stack.pop()
        if depth > MAX_DEPTH:
            raise TooDeep(f"the request nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, str):
            nested = _nested(node)
            if nested is not None:
                stack.append((nested, depth + 1, inside))
            else:
                out.append(node)
                if not inside and _data_url(node):
                    media += 1
        elif isinstance(node, dict):
            if not inside and _is_media(node):
                media += 1
                inside = True
            for key, value in reversed(node.items()):
                stack.append((value, depth + 1, inside))
                stack.append((str(key), depth + 1, True))
        elif isinstance(node, list | tuple):
            stack.extend((item, depth + 1, inside) for item in reversed(node))
        elif depth > 1 and (text := _number_text(node)) is not None:
            out.append(text)
    return out, media


#: content-part types read as text: a run of them in one message is one text to the receiver
TEXT_PART_TYPES = frozenset({"text", "input_text"})

#: a run of consecutive text parts in one message: (message index, first part, end part)
Run = tuple[int, int, int]


def _text_part(part: Any) -> bool:
    return (
        isinstance(part, dict)
        and part.get("type") in TEXT_PART_TYPES
        and isinstance(part.get("text"), str)
    )


def text_runs(body: Any) -> list[Run]:
    """The runs of two or more consecutive text parts in the content lists of ``body``'s
    messages: a value split across them (``["IBAN FR76 3000", " 6000 0112 ..."]``) is found
    only in their joined text (:func:`run_texts`)."""
    runs: list[Run] = []
    messages = body.get("messages") if isinstance(body, dict) else None
    for mi, message in enumerate(messages if isinstance(messages, list) else ()):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        start = None
        for pi, part in enumerate([*content, None]):
            if _text_part(part):
                start = pi if start is None else start
            elif start is not None:
                if pi - start >= 2:
                    runs.append((mi, start, pi))
                start = None
    return runs


def run_texts(body: dict[str, Any], run: Run) -> list[str]:
    """The texts of the parts of ``run``, in order."""
    mi, start, end = run
    return [part["text"] for part in body["messages"][mi]["content"][start:end]]


def merge_runs(body: dict[str, Any], runs: list[Run]) -> dict[str, Any]:
    """A copy of ``body`` where each run of text parts is one part holding the joined text (the
    first part's other keys kept), so that a value split across them is rewritten whole."""
    messages = list(body["messages"])
    for mi, start, end in sorted(runs, reverse=True):  # later runs first: indices stay valid
        message = dict(messages[mi])
        content = list(message["content"])
        joined = "".join(part["text"] for part in content[start:end])
        content[start:end] = [{**content[start], "text": joined}]
        message["content"] = content
        messages[mi] = message
    return {**body, "messages": messages}


def iter_strings(body: Any) -> Iterator[str]:
    """The strings :func:`collect` finds, in document order."""
    yield from collect(body)[0]


def map_strings(body: Any, fn: Callable[[str], str]) -> Any:
    """A copy of ``body`` with every string :func:`collect` finds replaced by ``fn(text)``.
    A number whose text ``fn`` changes becomes the new (string) text; a string holding escaped
    JSON is rewritten inside and encoded again (only when something changed)."""

    def walk(node: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise TooDeep(f"the request nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, str):
            nested = _nested(node)
            if nested is not None:
                new = walk(nested, depth + 1)
                return node if new == nested else json.dumps(new, ensure_ascii=False)
            return fn(node)
        if isinstance(node, dict):
            return {fn(str(k)): walk(v, depth + 1) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [walk(item, depth + 1) for item in node]
        if depth > 1 and (text := _number_text(node)) is not None:
            new_text = fn(text)
            return node if new_text == text else new_text
        return node

    return walk(body, 0)


# -- the older, message-level helpers (kept for callers of the public API) -------------------------
def iter_texts(messages: list[dict[str, Any]]) -> Iterator[str]:
    """Every string of a chat request's ``messages`` that would go upstream."""
    yield from collect(messages)[0]


def map_texts(messages: list[dict[str, Any]], fn: Callable[[str], str]) -> list[dict[str, Any]]:
    """A copy of ``messages`` with every string replaced by ``fn(text)``."""
    return map_strings(messages, fn)  # type: ignore[no-any-return]


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
        return [fn(p) if isinstance(p, str) else p for p in prompt]
    return prompt
