"""Turning chat messages into a prompt for a local model.

If the GGUF carries a chat template (``tokenizer.chat_template``) it is used. A model without one
(a *base* model such as the embedded Gemma 3 270M) gets the plain fallback format below, which base
models continue usefully because it reads like a transcript:

    <system text>                      (only if there are system messages)

    User: <user text>
    Assistant: <assistant text>
    User: <user text>
    Assistant:

Tool results appear as ``Tool (<name or id>): <text>``. Generation stops at ``\\nUser:`` so that the
model does not write the next user turn itself.

Client text is tokenised as text, never as control tokens: a client that writes ``<eos>`` or
``<start_of_turn>`` gets those characters, not the tokens. :meth:`TemplatePrompter.segments` renders
the template around placeholders so that only the template's own text may hold special tokens.
"""

from __future__ import annotations

import secrets
from typing import Any

#: one piece of a rendered prompt: its text and whether it came from the template (special tokens
#: allowed) or from the client (plain text)
Segment = tuple[str, bool]

PLAIN_STOP = ["\nUser:", "\nUSER:"]


def content_text(content: Any) -> str:
    """The text of a message content: a string or a list of parts (only text parts count)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") in ("text", "input_text")
        )
    return str(content)


def plain_prompt(messages: list[dict[str, Any]]) -> tuple[str, list[str]]:
    system = [
        content_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer")
    ]
    lines: list[str] = []
    for m in messages:
        role = m.get("role")
        text = content_text(m.get("content")).strip()
        if role == "user":
            lines.append(f"User: {text}")
        elif role == "assistant":
            lines.append(f"Assistant: {text}")
        elif role == "tool":
            lines.append(f"Tool ({m.get('name') or m.get('tool_call_id') or 'result'}): {text}")
    head = "\n".join(s.strip() for s in system if s.strip())
    prompt = (head + "\n\n" if head else "") + "\n".join(lines) + "\nAssistant:"
    return prompt, list(PLAIN_STOP)


class TemplatePrompter:
    """Renders messages with a Jinja chat template taken from the GGUF metadata."""

    def __init__(self, template: str, bos_token: str, eos_token: str):
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._formatter = Jinja2ChatFormatter(
            template=template, bos_token=bos_token, eos_token=eos_token
        )
        self._bos = bos_token

    def __call__(self, messages: list[dict[str, Any]]) -> tuple[str, list[str]]:
        result = self._formatter(messages=messages)  # type: ignore[arg-type]
        prompt = result.prompt
        # llama.cpp adds BOS itself when tokenizing; avoid a doubled BOS from the template.
        if self._bos and prompt.startswith(self._bos):
            prompt = prompt[len(self._bos) :]
        stop = (
            result.stop if isinstance(result.stop, list) else [result.stop] if result.stop else []
        )
        return prompt, [s for s in stop if s]

    def segments(self, messages: list[dict[str, Any]]) -> tuple[list[Segment], list[str]]:
        """The prompt in pieces: template text (special) and client text (plain).

        Every client string is replaced by a random placeholder before rendering and put back
        as a plain segment after. If the template changes a placeholder (so that it cannot be
        found again), the whole prompt is tokenised as plain text: degraded, never unsafe.
        """
        tag = secrets.token_hex(8)
        texts: list[str] = []

        def mark(value: Any) -> Any:
            if isinstance(value, str):
                texts.append(value)
                return f"\x00{tag}{len(texts) - 1}\x00"
            if isinstance(value, list):
                return [mark(v) for v in value]
            if isinstance(value, dict):
                return {
                    k: mark(v) if k in ("content", "text", "name") else v for k, v in value.items()
                }
            return value

        marked = [mark(m) for m in messages]
        prompt, stop = self(marked)
        pieces: list[Segment] = []
        rest = prompt
        while (start := rest.find(f"\x00{tag}")) >= 0:
            end = rest.find("\x00", start + 1)
            index = rest[start + 1 + len(tag) : end]
            if end < 0 or not index.isdigit() or int(index) >= len(texts):
                break
            if start:
                pieces.append((rest[:start], True))
            pieces.append((texts[int(index)], False))
            rest = rest[end + 1 :]
        if f"\x00{tag}" in rest:
            plain, _ = self(messages)
            return [(plain, False)], stop
        if rest:
            pieces.append((rest, True))
        return pieces, stop
