"""Tool calls on the llama.cpp backend: the prompt, the grammar, and the calls it produced.

A chat template such as Gemma's has no place for tools, so the functions are described in the
system turn, earlier calls are written as the JSON the model itself would write, and tool results
become user turns (roles then alternate as such templates require).

The model writes a call as ``{"name": <a function name>, "arguments": <its arguments>}`` (a list
of them when parallel calls are allowed and more than one function may be called), under a GBNF
grammar built from each function's ``parameters`` schema (:mod:`.llamacpp_grammar`): with
``tool_choice`` ``"required"`` or a named function the answer is always such a call, and its
arguments parse and validate. With ``"auto"`` the model's first token chooses: ``{`` or ``[``
starts a call (then generated under the grammar), anything else is a text answer.

:class:`CallCollector` turns the generated text into OpenAI tool-call deltas. A call is sent
once it is complete and its arguments validated: a stream never carries a call that does not
validate; a call cut by ``max_tokens`` is not sent (``finish_reason`` is ``length``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from souverain.backends.base import BackendError, BackendRejected, GenerationRequest
from souverain.backends.llamacpp_grammar import (
    GrammarBuilder,
    JsonBrackets,
    UnsupportedSchema,
    dumps,
    literal,
    validate,
)
from souverain.backends.prompting import content_text


class UnsupportedToolSchema(BackendRejected):
    """A function's parameters use a schema keyword this backend cannot enforce."""

    code = "unsupported_parameter"
    param = "tools"


@dataclass(slots=True)
class Function:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(slots=True)
class ToolPlan:
    """What the request allows: the callable functions, whether the answer must be a call, and
    whether several calls may come in one answer."""

    functions: list[Function]
    required: bool
    parallel: bool
    grammar: str = ""
    by_name: dict[str, Function] = field(default_factory=dict)


def _functions(req: GenerationRequest) -> list[Function]:
    out = []
    for tool in req.tools or []:
        fn = tool.get("function") or {}
        params = fn.get("parameters")
        out.append(
            Function(
                str(fn.get("name") or ""),
                str(fn.get("description") or ""),
                params if isinstance(params, dict) else {"type": "object", "properties": {}},
            )
        )
    return out


def plan(backend: str, req: GenerationRequest) -> ToolPlan | None:
    """The tool plan of a request (None: no tool may be called). Raises
    :class:`UnsupportedToolSchema` (400) for a schema the grammar cannot enforce."""
    if not req.uses_tools():
        return None
    functions = _functions(req)
    choice = req.tool_choice
    allowed = functions
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        allowed = [f for f in functions if f.name == name]
        if not allowed:
            raise UnsupportedToolSchema(
                backend, f"tool_choice names the function {name!r}, which is not in tools"
            )
    required = choice == "required" or isinstance(choice, dict)
    parallel = req.parallel_tool_calls is not False and len(allowed) > 1
    p = ToolPlan(allowed, required, parallel, by_name={f.name: f for f in allowed})
    p.grammar = grammar(backend, p)
    return p


def grammar(backend: str, p: ToolPlan) -> str:
    """The GBNF grammar of one call (or a list of calls) of the allowed functions."""
    g = GrammarBuilder()
    calls = []
    for i, fn in enumerate(p.functions):
        where = f"tools[{i}].function.parameters"
        schema = fn.parameters
        try:
            if schema.get("type", "object") != "object":
                raise UnsupportedSchema("type", "", f"{where}: the parameters must be an object")
            args = g.schema(schema, "", root=schema)
        except UnsupportedSchema as exc:
            raise UnsupportedToolSchema(backend, f"{where}: {exc}") from None
        head = literal('{"name": ' + dumps(fn.name) + ', "arguments": ')
        calls.append(g.rule("call", f'{head} {args} "}}"'))
    call = g.rule("calls", " | ".join(calls))
    if p.parallel:
        return g.text(f'"[" {call} (", " {call}){{0,{len(p.functions) - 1}}} "]"')
    return g.text(call)


# -- the prompt -------------------------------------------------------------------------------------
def _describe(p: ToolPlan) -> str:
    lines = ["You can call these functions:"]
    for fn in p.functions:
        desc = f": {fn.description}" if fn.description else ""
        lines.append(f"- {fn.name}{desc}\n  arguments (JSON Schema): {dumps(fn.parameters)}")
    shape = '{"name": "<function name>", "arguments": {<arguments>}}'
    if p.parallel:
        shape = f"[{shape}, ...] (one or more calls)"
    if len(p.functions) == 1 and p.required:
        lines.append(f"Call the function {p.functions[0].name} now.")
    elif p.required:
        lines.append("Call one of these functions now.")
    else:
        lines.append("If a function helps, call it; otherwise answer in text.")
    lines.append(f"To call a function, answer with only this JSON: {shape}")
    return "\n".join(lines)


def _call_text(calls: list[dict[str, Any]]) -> str:
    """Earlier calls written as the model writes them."""
    out = []
    for tc in calls:
        fn = tc.get("function") or {}
        args = fn.get("arguments")
        if isinstance(args, str):
            with contextlib.suppress(ValueError):  # else the client's own text, as it is
                args = json.loads(args) if args.strip() else {}
        out.append('{"name": ' + dumps(fn.get("name", "")) + ', "arguments": ' + dumps(args) + "}")
    return out[0] if len(out) == 1 else "[" + ", ".join(out) + "]"


def render_messages(messages: list[dict[str, Any]], p: ToolPlan | None) -> list[dict[str, Any]]:
    """Messages a template without tools can render: one system turn first (with the functions
    described), then user and assistant turns alternating; tool results are user turns."""
    system: list[str] = []
    turns: list[tuple[str, str]] = []
    names: dict[str, str] = {}
    for m in messages:
        role = m.get("role")
        text = content_text(m.get("content"))
        if role in ("system", "developer"):
            system.append(text)
            continue
        if role == "assistant":
            calls = m.get("tool_calls") or []
            for tc in calls:
                names[str(tc.get("id") or "")] = str((tc.get("function") or {}).get("name", ""))
            text = "\n".join(t for t in (text, _call_text(calls) if calls else "") if t)
        elif role in ("tool", "function"):
            name = m.get("name") or names.get(str(m.get("tool_call_id") or ""), "")
            text = f"Result of {name or 'the function'}: {text}"
            role = "user"
        else:
            role = "user"
        if turns and turns[-1][0] == role:
            turns[-1] = (role, turns[-1][1] + "\n\n" + text)
        else:
            turns.append((role, text))
    if p is not None:
        system.append(_describe(p))
    out = [{"role": "system", "content": "\n\n".join(s for s in system if s)}] if system else []
    if turns and turns[0][0] != "user":
        turns.insert(0, ("user", ""))
    return out + [{"role": r, "content": t} for r, t in turns]


def needs_rendering(req: GenerationRequest) -> bool:
    return bool(req.tools) or any(
        m.get("role") in ("tool", "function") or m.get("tool_calls") for m in req.messages or []
    )


# -- the calls ------------------------------------------------------------------------------------
class CallCollector:
    """Reads the text generated under the tool grammar, one piece (token) at a time, and gives
    the OpenAI deltas of each call once it is complete and validated."""

    def __init__(self, backend: str, p: ToolPlan):
        self.backend, self.plan = backend, p
        self.text = ""
        self._bounds: list[int] = []  # where each piece starts in self.text
        self._start = -1  # start of the call being written
        self._depth = 0
        self._brackets = JsonBrackets()
        self.count = 0
        self.done = False

    def feed(self, piece: str) -> list[list[dict[str, Any]]]:
        """Deltas to send now: one list per stream event."""
        out: list[list[dict[str, Any]]] = []
        base = len(self.text)
        self._bounds.append(base)
        self.text += piece
        for i, ch in enumerate(piece, base):
            bracket = self._brackets.step(ch)
            if bracket == "{":
                if self._depth == 0:
                    self._start = i
                self._depth += 1
            elif bracket == "}":
                self._depth -= 1
                if self._depth == 0:
                    out += self._call(self._start, i + 1)
                    self.done = not self.plan.parallel
            elif bracket == "]" and self._depth == 0 and self.plan.parallel:
                self.done = True
        return out

    def _call(self, start: int, end: int) -> list[list[dict[str, Any]]]:
        call = json.loads(self.text[start:end])
        fn = self.plan.by_name[call["name"]]
        if why := validate(call["arguments"], fn.parameters):  # never, by the grammar
            raise BackendError(self.backend, f"the tool call's arguments do not validate: {why}")
        head = start + len('{"name": ' + dumps(fn.name) + ', "arguments": ')
        tail = end - 1  # the call's closing brace
        index = self.count
        self.count += 1
        events = [
            [
                {
                    "index": index,
                    "id": "call_" + secrets.token_hex(12),
                    "type": "function",
                    "function": {"name": fn.name, "arguments": ""},
                }
            ]
        ]
        cuts = sorted({head, tail, *(b for b in self._bounds if head < b < tail)})
        for a, b in itertools.pairwise(cuts):
            events.append([{"index": index, "function": {"arguments": self.text[a:b]}}])
        return events


def first_piece_calls(piece: str) -> bool:
    """``auto``: does the model's first piece of text start a call?"""
    return piece.lstrip()[:1] in ("{", "[")
