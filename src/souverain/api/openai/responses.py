"""POST /v1/responses (OpenAI's Responses API), stateless, on the chat pipeline.

The request is translated into the chat completions request it means (``instructions`` a system
message, the ``input`` items messages, ``function_call`` / ``function_call_output`` items an
assistant turn's tool calls and their results, flat function tools nested, ``text.format`` a
``response_format``) and built into the backend request by :func:`serving.chat_request`, the
one chat builder: same use case resolution, policy, scan of every field of what leaves, placement,
ledger row (``operation: responses``), budgets and rate limits as a chat. The chat answer is
shaped back into a ``response`` object, or into its typed events (``responses_output.py``).
What needs stored state (``previous_response_id``, ``store: true``, ``background``,
``conversation``, item references) or a tool run by the server (web search, file search, ...) is
refused with 400 ``unsupported_parameter`` naming the field."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.responses import Response, StreamingResponse

from souverain.api.auth import Principal
from souverain.api.errors import APIError
from souverain.api.openai.early import new_request_id
from souverain.api.openai.protocol import ChatCompletionRequest
from souverain.api.openai.responses_output import ResponseShape, response_events, response_output
from souverain.api.openai.responses_protocol import ResponsesRequest
from souverain.api.openai.serving import (
    SSE_HEADERS,
    admitted,
    answer_headers,
    chat_request,
    counted,
    finish_answer,
    open_answer,
)
from souverain.backends.base import GenerationRequest
from souverain.gateway.call import CallContext
from souverain.gateway.runtime import Runtime

OPERATION = "responses"
#: tool types OpenAI runs on its side; souverain runs none (only ``function`` tools)
BUILT_IN_TOOLS = (
    "web_search",
    "web_search_preview",
    "file_search",
    "code_interpreter",
    "computer_use_preview",
    "computer_use",
    "image_generation",
    "mcp",
    "local_shell",
    "shell",
    "apply_patch",
    "custom",
)


def unsupported(param: str, message: str) -> APIError:
    return APIError(400, message, code="unsupported_parameter", param=param)


def invalid(param: str, message: str) -> APIError:
    return APIError(400, f"{param}: {message}", code="invalid_value", param=param)


def missing(param: str, message: str) -> APIError:
    return APIError(400, f"{param}: {message}", code="missing_required_parameter", param=param)


# -- request: the Responses body as the chat completions body it means --------------------------
STATELESS = "souverain is stateless: it stores no responses, send the whole conversation in 'input'"


def check_stateless(req: ResponsesRequest) -> None:
    """400 ``unsupported_parameter`` for what needs stored responses, background runs or
    features no backend here offers."""
    if req.previous_response_id is not None:
        raise unsupported("previous_response_id", f"previous_response_id: {STATELESS}")
    if req.store:
        raise unsupported("store", f"store: true: {STATELESS} (send store: false or leave it out)")
    if req.background:
        raise unsupported(
            "background",
            "background: true is not supported: souverain answers "
            "while the request is open (use stream: true for long answers)",
        )
    if req.conversation is not None:
        raise unsupported("conversation", f"conversation: {STATELESS}")
    if req.prompt is not None:
        raise unsupported("prompt", "stored prompt templates are not supported: send the text")
    if req.include:
        raise unsupported(
            "include",
            f"include is not supported: nothing more can be included ({req.include[0]!r})",
        )
    if req.reasoning and any(v is not None for v in req.reasoning.values()):
        raise unsupported("reasoning", "reasoning options are not supported")
    if req.top_logprobs:
        raise unsupported("top_logprobs", "logprobs are not supported")
    if req.max_tool_calls is not None:
        raise unsupported(
            "max_tool_calls",
            "max_tool_calls is not supported (parallel_tool_calls: false allows at most one call)",
        )
    if req.truncation == "auto":
        raise unsupported(
            "truncation",
            "truncation: 'auto' is not supported: a prompt over the "
            "context is refused (400 context_length_exceeded)",
        )
    if req.text is not None and req.text.verbosity not in (None, "medium"):
        raise unsupported("text.verbosity", "text.verbosity is not supported")


def _string(item: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = item.get(key)
    if value is None:
        if required:
            raise missing(f"{where}.{key}", "is required (a string)")
        return None
    if not isinstance(value, str):
        raise invalid(f"{where}.{key}", f"must be a string, not {type(value).__name__}")
    return value


def _part(part: Any, where: str) -> dict[str, Any]:
    """One content part as chat spells it."""
    if not isinstance(part, dict):
        raise invalid(where, "a content part must be an object with a 'type'")
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": _string(part, "text", where)}
    if kind == "refusal":
        return {"type": "text", "text": _string(part, "refusal", where)}
    if kind == "input_image":
        if part.get("file_id") is not None and part.get("image_url") is None:
            raise unsupported(
                f"{where}.file_id",
                "image file ids are not supported (they need the Files API, which souverain "
                "does not have): send image_url (a URL or a data URL)",
            )
        image: dict[str, Any] = {"url": _string(part, "image_url", where)}
        if part.get("detail") is not None:
            image["detail"] = _string(part, "detail", where)
        return {"type": "image_url", "image_url": image}
    if kind == "input_file":
        if part.get("file_data") is None:
            raise unsupported(
                where,
                "file ids and file URLs are not supported (they need the Files API, which "
                "souverain does not have): send file_data (base64)",
            )
        file = {"file_data": _string(part, "file_data", where)}
        if part.get("filename") is not None:
            file["filename"] = _string(part, "filename", where) or ""
        return {"type": "file", "file": file}
    raise invalid(
        f"{where}.type",
        f"unknown content part type {kind!r} (input_text, output_text, input_image, input_file)",
    )


def _content(value: Any, where: str) -> str | list[dict[str, Any]]:
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise invalid(where, "must be a string or a list of content parts")
    return [_part(p, f"{where}[{j}]") for j, p in enumerate(value)]


MESSAGE_ROLES = ("user", "system", "developer", "assistant")
#: items of OpenAI's built-in tools (and their outputs): souverain runs none of them
TOOL_ITEMS = (
    "_call",
    "_call_output",
    "mcp_list_tools",
    "mcp_approval_request",
    "mcp_approval_response",
)


#: where each chat message came from in the Responses request: (the item, the place of what
#: became its content, None for a function call's assistant turn)
Places = list[tuple[str, str | None]]


def _item(item: Any, where: str, messages: list[dict[str, Any]], places: Places) -> None:
    """Append input item ``item`` to the chat ``messages`` (and where it came from to
    ``places``)."""
    if not isinstance(item, dict):
        raise invalid(where, "an input item must be an object")
    kind = item.get("type") or ("message" if "role" in item else None)
    if kind == "message":
        role = item.get("role")
        if role not in MESSAGE_ROLES:
            raise invalid(f"{where}.role", f"must be one of {', '.join(MESSAGE_ROLES)}")
        if "content" not in item:
            raise missing(f"{where}.content", "is required")
        messages.append({"role": role, "content": _content(item["content"], f"{where}.content")})
        places.append((where, f"{where}.content"))
    elif kind == "function_call":
        arguments = item.get("arguments")
        if isinstance(arguments, dict):  # some clients send the object itself
            arguments = orjson.dumps(arguments).decode()
        call = {
            "id": _string(item, "call_id", where),
            "type": "function",
            "function": {
                "name": _string(item, "name", where),
                "arguments": _string({"arguments": arguments}, "arguments", where),
            },
        }
        last = messages[-1] if messages else None
        if last is not None and last["role"] == "assistant":  # the same turn: text, then calls
            last.setdefault("tool_calls", []).append(call)
        else:
            messages.append({"role": "assistant", "tool_calls": [call]})
            places.append((where, None))
    elif kind == "function_call_output":
        if "output" not in item:
            raise missing(f"{where}.output", "is required (a string or content parts)")
        messages.append(
            {
                "role": "tool",
                "tool_call_id": _string(item, "call_id", where),
                "content": _content(item["output"], f"{where}.output"),
            }
        )
        places.append((where, f"{where}.output"))
    elif kind == "item_reference":
        raise unsupported(where, f"item references: {STATELESS}")
    elif kind == "reasoning":
        raise unsupported(
            where,
            "reasoning items are not supported (no backend here reasons in items): leave them out",
        )
    elif isinstance(kind, str) and (kind.endswith(TOOL_ITEMS) or kind.startswith("mcp_")):
        raise unsupported(
            where,
            f"{kind!r} items are not supported: they belong to a built-in tool, and souverain "
            "runs none (only function tools)",
        )
    else:
        raise invalid(
            f"{where}.type",
            f"unknown input item type {kind!r} (message, function_call, function_call_output)",
        )


def chat_messages(req: ResponsesRequest, places: Places | None = None) -> list[dict[str, Any]]:
    """The chat messages ``req`` means; ``places`` gets where each came from."""
    messages: list[dict[str, Any]] = []
    places = [] if places is None else places
    if req.instructions:
        messages.append({"role": "system", "content": req.instructions})
        places.append(("instructions", "instructions"))
    if isinstance(req.input, str):
        messages.append({"role": "user", "content": req.input})
        places.append(("input", "input"))
        return messages
    if not req.input:
        raise invalid("input", "must not be empty (a string or a list of items)")
    for i, item in enumerate(req.input):
        _item(item, f"input[{i}]", messages, places)
    if not any(m["role"] != "system" for m in messages):
        raise invalid("input", "needs a message or a function call output beside instructions")
    return messages


def chat_tools(req: ResponsesRequest) -> list[dict[str, Any]] | None:
    """Flat function tools nested as chat nests them; built-in tools refused."""
    if not req.tools:
        return None
    tools = []
    for i, tool in enumerate(req.tools):
        where = f"tools[{i}]"
        kind = tool.get("type")
        if kind != "function":
            if isinstance(kind, str) and kind.startswith(BUILT_IN_TOOLS):
                raise unsupported(
                    f"{where}.type",
                    f"the built-in tool {kind!r} is not supported: "
                    "souverain runs no tools itself, only function tools that "
                    "your code runs",
                )
            raise invalid(f"{where}.type", f"unknown tool type {kind!r} (only 'function')")
        function: dict[str, Any] = {"name": _string(tool, "name", where)}
        if not function["name"]:
            raise invalid(f"{where}.name", "must not be empty")
        if tool.get("description") is not None:
            function["description"] = _string(tool, "description", where)
        if tool.get("parameters") is not None:
            if not isinstance(tool["parameters"], dict):
                raise invalid(f"{where}.parameters", "must be a JSON Schema object")
            function["parameters"] = tool["parameters"]
        if tool.get("strict") is not None:
            if not isinstance(tool["strict"], bool):
                raise invalid(f"{where}.strict", "must be a boolean")
            function["strict"] = tool["strict"]
        tools.append({"type": "function", "function": function})
    return tools


def chat_tool_choice(req: ResponsesRequest, tools: list[dict[str, Any]] | None) -> Any:
    choice = req.tool_choice
    if choice is None or choice in ("none", "auto"):
        return choice
    if choice == "required" or (isinstance(choice, dict) and choice.get("type") == "function"):
        if not tools:
            raise invalid("tool_choice", "a required or named tool choice needs 'tools'")
        if not isinstance(choice, dict):
            return choice  # "required"
        name = choice.get("name")
        if not isinstance(name, str) or not name:
            raise missing("tool_choice.name", "is required (the function's name)")
        names = [t["function"]["name"] for t in tools]
        if name not in names:
            raise invalid(
                "tool_choice", f"names {name!r}, which is not in tools ({', '.join(names)})"
            )
        return {"type": "function", "function": {"name": name}}
    if isinstance(choice, dict) and isinstance(choice.get("type"), str):
        kind = choice["type"]
        if kind.startswith(BUILT_IN_TOOLS):
            raise unsupported("tool_choice", f"the built-in tool {kind!r} is not supported")
        raise unsupported(
            "tool_choice",
            f"tool_choice {kind!r} is not supported ('none', "
            "'auto', 'required' or {'type': 'function', 'name': ...})",
        )
    raise invalid(
        "tool_choice", "must be 'none', 'auto', 'required' or {'type': 'function', 'name': ...}"
    )


def chat_response_format(req: ResponsesRequest) -> dict[str, Any] | None:
    fmt = req.text.format if req.text is not None else None
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return {"type": "json_object"}
    schema = {
        "name": fmt.name,
        "description": fmt.description,
        "schema": fmt.schema_,
        "strict": fmt.strict,
    }
    return {
        "type": "json_schema",
        "json_schema": {k: v for k, v in schema.items() if v is not None},
    }


def chat_body(req: ResponsesRequest, places: Places | None = None) -> dict[str, Any]:
    """The chat completions body that ``req`` means (``places``: see :func:`chat_messages`)."""
    check_stateless(req)
    tools = chat_tools(req)
    body: dict[str, Any] = {
        "model": req.model,
        "messages": chat_messages(req, places),
        "max_tokens": req.max_output_tokens,
        "temperature": req.temperature,
        "top_p": req.top_p,
        "response_format": chat_response_format(req),
        "tools": tools,
        "tool_choice": chat_tool_choice(req, tools),
        "parallel_tool_calls": req.parallel_tool_calls,
        "user": req.user,  # client text: it leaves with the request, scanned like the rest
    }
    return {k: v for k, v in body.items() if v is not None}


def generation_request(
    req: ResponsesRequest, request_id: str, places: Places | None = None
) -> GenerationRequest:
    """The backend request: built by the chat builder from the chat body ``req`` means."""
    places = [] if places is None else places
    body = chat_body(req, places)
    try:
        chat = ChatCompletionRequest.model_validate(body)
    except ValidationError as exc:  # the translation above checked the shapes: a bug if here
        first = exc.errors()[0]
        raise invalid("input", str(first.get("msg", "invalid value"))) from None
    try:
        return chat_request(chat, request_id)
    except APIError as err:
        raise in_request_terms(err, places) from None


#: chat parameters and the Responses fields they come from
CHAT_PARAMS = {
    "messages": "input",
    "response_format": "text.format",
    "max_tokens": "max_output_tokens",
}
_MESSAGE_PARAM = re.compile(r"messages\[(\d+)\](.*)")


def request_param(param: str | None, places: Places) -> str | None:
    """A chat parameter (``messages[2].content[1]``) named as the Responses request has it
    (``input[1].content[1]``)."""
    if param is None:
        return None
    m = _MESSAGE_PARAM.fullmatch(param)
    if m is None:
        return CHAT_PARAMS.get(param, param)
    k, rest = int(m[1]), m[2]
    if k >= len(places):
        return "input"
    item, content = places[k]
    if content is not None and rest.startswith(".content"):
        return content + rest.removeprefix(".content")
    return item


def in_request_terms(err: APIError, places: Places) -> APIError:
    """``err`` with its ``param`` (and the message's mention of it) in the request's terms."""
    param = request_param(err.param, places)
    if err.param and param != err.param:
        err.message = err.message.replace(err.param, param or "")
        err.param = param
    return err


# -- the endpoint ------------------------------------------------------------------------------
async def respond(runtime: Runtime, principal: Principal, wire: ResponsesRequest) -> Response:
    request_id = new_request_id("response")
    stream = bool(wire.stream)
    places: Places = []
    use_case, greq, admission = await admitted(
        runtime,
        principal,
        request_id=request_id,
        model=wire.model,
        build=lambda: generation_request(wire, request_id, places),
        operation=OPERATION,
        stream=stream,
    )
    ctx = CallContext(request_id, use_case, principal.name, stream=stream, operation=OPERATION)
    answer = await open_answer(runtime, ctx, greq, partial(in_request_terms, places=places))
    headers = {**answer_headers(answer, use_case.name), **admission.headers()}
    shape = ResponseShape(wire, request_id, answer.backend_name)
    if stream:
        return StreamingResponse(
            counted(runtime, admission, answer, response_events(shape, answer)),
            media_type="text/event-stream",
            headers={**SSE_HEADERS, **headers},
        )
    comp = await finish_answer(runtime, admission, answer, partial(in_request_terms, places=places))
    status, incomplete, output = response_output(comp)
    body = shape.body(status, output, comp.usage, incomplete=incomplete)
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)
