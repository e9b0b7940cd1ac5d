"""A real OpenAI-compatible HTTP server on loopback for fault injection and capture.

It records every request body byte it receives (``captured``), answers by echoing the last
user message (so pseudonymisation/restoration can be checked end to end), and can misbehave on
demand: slow first byte, connection reset mid-stream, invalid JSON, HTTP 500, no tool support.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _after_tool(body: dict[str, Any]) -> bool:
    """The chat ends on a tool's result: answered in text (an agent's loop ends there)."""
    messages = body.get("messages") or []
    return bool(messages) and messages[-1].get("role") == "tool"


class Upstream:
    def __init__(self, mode: str = "echo", reply: str | None = None, supports_tools: bool = True):
        self.mode = mode
        self.reply = reply
        self.supports_tools = supports_tools
        #: the length of the vectors POST /v1/embeddings answers
        self.embedding_dim = 8
        #: when set, a chat with ``tools`` is answered with these calls ({"name", "arguments"})
        #: after the text ``reply`` (if any), streamed as OpenAI streams them; a chat that ends
        #: on a tool result is answered in text
        self.tool_calls: list[dict[str, str]] | None = None
        self.captured: list[bytes] = []
        self.probes = 0  # GET /v1/models (health probes) received
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        app = Starlette(
            routes=[
                Route("/v1/models", self.models),
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/completions", self.chat, methods=["POST"]),
                Route("/v1/embeddings", self.embeddings, methods=["POST"]),
            ]
        )
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error", lifespan="off")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> Upstream:
        self._thread.start()
        deadline = time.time() + 10
        while not self._server.started:
            if time.time() > deadline:
                raise RuntimeError("upstream did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def all_bytes(self) -> bytes:
        return b"".join(self.captured)

    async def models(self, request: Request) -> Response:
        self.probes += 1
        return JSONResponse({"object": "list", "data": [{"id": "up-model", "object": "model"}]})

    def _answer(self, body: dict[str, Any]) -> str:
        if self.reply is not None:
            return self.reply
        if "messages" in body:
            users = [m for m in body["messages"] if m.get("role") == "user"]
            content = users[-1]["content"] if users else ""
            if isinstance(content, list):
                content = " ".join(p.get("text", "") for p in content)
            return f"You said: {content}"
        return f"Echo: {body.get('prompt')}"

    async def _tool_stream(self, body: dict[str, Any]) -> Any:
        """A streamed tool call ``pay`` whose arguments quote the last user message, three
        characters a chunk. ``tool_stream_cut``: the arguments stop right after the quote, with
        its placeholders written bare in lower case (as a model cut by max_tokens would)."""
        said = self._answer(body).removeprefix("You said: ")
        if self.mode == "tool_stream_cut":
            args, finish = (
                '{"to": "' + re.sub(r"<([A-Z_0-9]+)>", lambda m: m[1].lower(), said),
                "length",
            )
        else:
            args, finish = json.dumps({"to": said}), "tool_calls"

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
            return b"data: " + json.dumps({"id": "up-t", "choices": [choice]}).encode() + b"\n\n"

        call = {"index": 0, "id": "call_1", "type": "function"}
        yield chunk({"tool_calls": [{**call, "function": {"name": "pay", "arguments": ""}}]})
        for i in range(0, len(args), 3):
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[i : i + 3]}}]})
            await asyncio.sleep(0)
        yield chunk({}, finish)
        yield b"data: [DONE]\n\n"

    async def embeddings(self, request: Request) -> Response:
        """A vector of ``dim`` floats per input (the first is the input's length), or a fault."""
        raw = await request.body()
        self.captured.append(raw)
        body = json.loads(raw)
        if self.mode == "status500":
            return JSONResponse({"error": {"message": "kaboom"}}, status_code=500)
        if self.mode == "status400":
            return JSONResponse({"error": {"message": "bad input"}}, status_code=400)
        if self.mode == "invalid_json":
            return Response(b"{not json", media_type="application/json")
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        if self.mode == "short_answer":
            inputs = inputs[:-1]
        dim = self.embedding_dim
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(x))] + [0.5] * (dim - 1)}
            for i, x in enumerate(inputs)
        ]
        usage = {"prompt_tokens": 7 * len(inputs), "total_tokens": 7 * len(inputs)}
        return JSONResponse({"object": "list", "data": data, "model": "up-embed", "usage": usage})

    async def chat(self, request: Request) -> Response:
        raw = await request.body()
        self.captured.append(raw)
        body = json.loads(raw)
        if self.mode == "status500":
            return JSONResponse(
                {"error": {"message": "internal kaboom secret=sk-abcdef123456"}}, status_code=500
            )
        if self.mode == "status400":
            return JSONResponse({"error": {"message": "bad max_tokens"}}, status_code=400)
        if self.mode == "status400_quoting":  # as real APIs do: the message quotes the request
            quoted = json.dumps(body.get("messages"))[:300]
            error = {
                "message": f"Invalid request: {quoted} is not acceptable",
                "type": "invalid_request_error",
                "code": "invalid_value",
                "param": "messages[0].content",
            }
            return JSONResponse({"error": error}, status_code=400)
        if self.mode == "invalid_json":
            return Response(b"{not json", media_type="application/json")
        if self.mode == "slow_first_byte":
            await asyncio.sleep(3)
        if body.get("tools") and not self.supports_tools:
            return JSONResponse({"error": {"message": "tools are not supported"}}, status_code=400)
        if self.mode in ("tool_stream", "tool_stream_cut") and body.get("stream"):
            return StreamingResponse(self._tool_stream(body), media_type="text/event-stream")
        if body.get("tools") and self.tool_calls is not None and not _after_tool(body):
            return self._tool_answer(body)
        text = self._answer(body)
        chat = "messages" in body
        finish = "length" if self.mode == "length" else "stop"  # "length": cut by max_tokens
        if not body.get("stream"):
            if self.mode == "invalid_json_stream":
                return Response(b"{not json", media_type="application/json")
            choice = (
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish,
                }
                if chat
                else {"index": 0, "text": text, "finish_reason": "stop"}
            )
            return JSONResponse(
                {
                    "id": "up-1",
                    "object": "chat.completion",
                    "model": "up-model",
                    "choices": [choice],
                    "usage": {
                        "prompt_tokens": 11,
                        "completion_tokens": len(text.split()),
                        "total_tokens": 11 + len(text.split()),
                    },
                }
            )
        words = [w + " " for w in text.split(" ")]
        words[-1] = words[-1].rstrip(" ")

        async def gen():  # type: ignore[no-untyped-def]
            for i, w in enumerate(words):
                if self.mode == "reset_mid_stream" and i == 2:
                    raise ConnectionResetError("boom")
                if self.mode == "invalid_json_stream" and i == 1:
                    yield b"data: {broken\n\n"
                    continue
                if self.mode == "slow_stream":
                    await asyncio.sleep(0.5)
                delta = {"content": w} if chat else None
                choice = (
                    {"index": 0, "delta": delta, "finish_reason": None}
                    if chat
                    else {"index": 0, "text": w, "finish_reason": None}
                )
                yield b"data: " + json.dumps({"id": "up-1", "choices": [choice]}).encode() + b"\n\n"
                await asyncio.sleep(0)
            final = (
                {"index": 0, "delta": {}, "finish_reason": finish}
                if chat
                else {"index": 0, "text": "", "finish_reason": "stop"}
            )
            yield b"data: " + json.dumps({"id": "up-1", "choices": [final]}).encode() + b"\n\n"
            yield (
                b"data: "
                + json.dumps(
                    {
                        "id": "up-1",
                        "choices": [],
                        "usage": {"prompt_tokens": 11, "completion_tokens": len(words)},
                    }
                ).encode()
                + b"\n\n"
            )
            yield b"data: [DONE]\n\n"

        return StreamingResponse(gen(), media_type="text/event-stream")

    def _tool_answer(self, body: dict[str, Any]) -> Response:
        calls = [
            {"id": f"call_up{i}", "type": "function", "function": dict(c)}
            for i, c in enumerate(self.tool_calls or [])
        ]
        usage = {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}
        if not body.get("stream"):
            message = {"role": "assistant", "content": self.reply, "tool_calls": calls}
            choice = {"index": 0, "message": message, "finish_reason": "tool_calls"}
            return JSONResponse({"id": "up-1", "choices": [choice], "usage": usage})

        def chunk(delta: dict[str, Any] | None, finish: str | None = None) -> bytes:
            choices = (
                [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
            )
            out: dict[str, Any] = {"id": "up-1", "choices": choices}
            if delta is None:
                out["usage"] = usage
            return b"data: " + json.dumps(out).encode() + b"\n\n"

        def gen():  # type: ignore[no-untyped-def]
            if self.reply:
                yield chunk({"role": "assistant", "content": self.reply})
            for i, c in enumerate(calls):
                fn = c["function"]
                head = {"index": i, "id": c["id"], "type": "function"}
                yield chunk({"tool_calls": [{**head, "function": {"name": fn["name"]}}]})
                args = fn["arguments"]
                for piece in (args[: len(args) // 2], args[len(args) // 2 :]):
                    yield chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
            yield chunk({}, "tool_calls")
            yield chunk(None)
            yield b"data: [DONE]\n\n"

        return StreamingResponse(gen(), media_type="text/event-stream")
