"""The answer of POST /v1/responses: the chat answer shaped as a ``response`` object, and, streamed,
as the Responses API's typed events (``event: <type>`` / ``data: {...}``, each with its
``sequence_number``):

    response.created, response.in_progress
    per output item, in order:
      a message:       response.output_item.added, response.content_part.added,
                       response.output_text.delta ..., response.output_text.done,
                       response.content_part.done, response.output_item.done
      a function call: response.output_item.added, response.function_call_arguments.delta ...,
                       response.function_call_arguments.done, response.output_item.done
    response.completed (response.incomplete when cut by max_output_tokens)

A backend failure (or a ledger row that cannot be written) after the first event ends the stream
with ``response.failed``, its ``error`` saying why."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from souverain.api.openai.responses_protocol import ResponsesRequest
from souverain.backends.base import BackendError, Completion, Usage
from souverain.gateway.answer import Answer
from souverain.gateway.call import Refusal

#: what a ``finish_reason`` of the chat answer makes of the response: (status, incomplete reason)
FINISH_STATUS = {
    "length": ("incomplete", "max_output_tokens"),
    "content_filter": ("incomplete", "content_filter"),
}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


# -- answer: the chat answer as a response object ------------------------------------------------
def usage_body(usage: Usage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.total_tokens,
    }


def message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [text_part(text)] if status != "in_progress" else [],
    }


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def call_item(item_id: str, call_id: str, name: str, arguments: str, status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def finish_status(finish_reason: str | None) -> tuple[str, dict[str, str] | None]:
    status, reason = FINISH_STATUS.get(finish_reason or "", ("completed", None))
    return status, {"reason": reason} if reason else None


class ResponseShape:
    """The fields of the response object that come from the request (echoed as OpenAI does)."""

    def __init__(self, req: ResponsesRequest, response_id: str, model: str):
        self.id, self.model, self.created_at = response_id, model, int(time.time())
        fmt = req.text.format if req.text is not None and req.text.format else None
        self.echo: dict[str, Any] = {
            "instructions": req.instructions,
            "max_output_tokens": req.max_output_tokens,
            "parallel_tool_calls": req.parallel_tool_calls is not False,
            "temperature": req.temperature,
            "top_p": req.top_p,
            "tool_choice": req.tool_choice if req.tool_choice is not None else "auto",
            "tools": req.tools or [],
            "text": {
                "format": fmt.model_dump(exclude_none=True, by_alias=True)
                if fmt
                else {"type": "text"}
            },
            "truncation": "disabled",
            "metadata": req.metadata or {},
            "user": req.user,
            "store": False,
            "background": False,
            "previous_response_id": None,
            "reasoning": None,
        }

    def body(
        self,
        status: str,
        output: list[dict[str, Any]],
        usage: Usage | None = None,
        *,
        incomplete: dict[str, str] | None = None,
        error: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "completed_at": int(time.time()) if status == "completed" else None,
            "error": error,
            "incomplete_details": incomplete,
            "model": self.model,
            "output": output,
            **self.echo,
            "usage": usage_body(usage),
        }


def response_output(comp: Completion) -> tuple[str, dict[str, str] | None, list[dict[str, Any]]]:
    status, incomplete = finish_status(comp.finish_reason)
    output = []
    if comp.text or not comp.tool_calls:
        output.append(message_item(new_id("msg"), comp.text, status))
    for call in comp.tool_calls or []:
        fn = call.get("function") or {}
        call_id = str(call.get("id") or new_id("call"))
        arguments = fn.get("arguments")
        if not isinstance(arguments, str):
            arguments = orjson.dumps(arguments or {}).decode()
        output.append(
            call_item(new_id("fc"), call_id, str(fn.get("name", "")), arguments, "completed")
        )
    return status, incomplete, output


# -- streamed: the typed events -----------------------------------------------------------------
class EventStream:
    """Frames events and keeps the output items, in order, as they open and close."""

    def __init__(self) -> None:
        self.seq = 0
        self.output: list[dict[str, Any]] = []
        #: the item being written (the last of ``output``), and, for a call, its chat index
        self.open: dict[str, Any] | None = None
        self.call_index: int | None = None

    def event(self, type_: str, **fields: Any) -> bytes:
        data = orjson.dumps({"type": type_, "sequence_number": self.seq, **fields})
        self.seq += 1
        return b"event: " + type_.encode() + b"\ndata: " + data + b"\n\n"

    def _where(self) -> dict[str, Any]:
        assert self.open is not None
        return {"item_id": self.open["id"], "output_index": len(self.output) - 1}

    def text(self, delta: str) -> list[bytes]:
        out = []
        if self.open is None or self.open["type"] != "message":
            out += self.close("completed")
            item = message_item(new_id("msg"), "", "in_progress")
            self.output.append(item)
            self.open = item
            out.append(
                self.event(
                    "response.output_item.added", output_index=len(self.output) - 1, item=item
                )
            )
            out.append(
                self.event(
                    "response.content_part.added",
                    **self._where(),
                    content_index=0,
                    part=text_part(""),
                )
            )
            item["content"] = [text_part("")]
        if delta:
            self.open["content"][0]["text"] += delta
            out.append(
                self.event(
                    "response.output_text.delta",
                    **self._where(),
                    content_index=0,
                    delta=delta,
                    logprobs=[],
                )
            )
        return out

    def call(self, delta: dict[str, Any]) -> list[bytes]:
        out = []
        index = int(delta.get("index") or 0)
        fn = delta.get("function") or {}
        if self.open is None or self.open["type"] != "function_call" or self.call_index != index:
            out += self.close("completed")
            call_id = str(delta.get("id") or new_id("call"))
            item = call_item(new_id("fc"), call_id, str(fn.get("name") or ""), "", "in_progress")
            self.output.append(item)
            self.open, self.call_index = item, index
            out.append(
                self.event(
                    "response.output_item.added", output_index=len(self.output) - 1, item=item
                )
            )
        piece = fn.get("arguments") or ""
        if piece:
            self.open["arguments"] += piece
            out.append(
                self.event("response.function_call_arguments.delta", **self._where(), delta=piece)
            )
        return out

    def close(self, status: str) -> list[bytes]:
        """Close the open item (``status``: completed or incomplete)."""
        item = self.open
        out: list[bytes] = []
        if item is None:
            return out
        if item["type"] == "message":
            part = item["content"][0]
            out.append(
                self.event(
                    "response.output_text.done",
                    **self._where(),
                    content_index=0,
                    text=part["text"],
                    logprobs=[],
                )
            )
            out.append(
                self.event(
                    "response.content_part.done", **self._where(), content_index=0, part=part
                )
            )
        else:
            out.append(
                self.event(
                    "response.function_call_arguments.done",
                    **self._where(),
                    name=item["name"],
                    arguments=item["arguments"],
                )
            )
        item["status"] = status
        out.append(
            self.event("response.output_item.done", output_index=len(self.output) - 1, item=item)
        )
        self.open = self.call_index = None
        return out


async def response_events(shape: ResponseShape, answer: Answer) -> AsyncIterator[bytes]:
    """The answer as the Responses API's typed events (see the module's docstring)."""
    es = EventStream()
    started = shape.body("in_progress", [])
    yield es.event("response.created", response=started)
    yield es.event("response.in_progress", response=started)
    try:
        async for ev in answer.events():
            if ev.finish_reason is not None:
                status, incomplete = finish_status(ev.finish_reason)
                for chunk in es.close(status):
                    yield chunk
                if not es.output:  # nothing was written: an empty message, as non-streamed
                    for chunk in es.text("") + es.close(status):
                        yield chunk
                final = shape.body(status, es.output, ev.usage, incomplete=incomplete)
                kind = "response.completed" if status == "completed" else "response.incomplete"
                yield es.event(kind, response=final)
                return
            for chunk in es.text(ev.text) if ev.text else []:
                yield chunk
            for delta in ev.tool_calls or []:
                for chunk in es.call(delta):
                    yield chunk
        raise BackendError(answer.backend_name, "the answer ended without a finish reason")
    except BackendError as exc:
        error = {"code": "server_error", "message": f"{exc.code}: {exc}"}
    except Refusal as ref:  # the row could not be written: the answer is withheld
        error = {"code": "server_error", "message": f"{ref.code}: {ref.message}"}
    if es.open is not None:
        es.open["status"] = "incomplete"
    yield es.event("response.failed", response=shape.body("failed", es.output, error=error))
