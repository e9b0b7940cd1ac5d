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
"""

from __future__ import annotations

from typing import Any

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
