"""``openai``: any OpenAI-compatible server (vLLM, Ollama, llama.cpp server, Mistral, OpenAI, ...).

The API key is read from the environment variable the config *names* (``api_key_env``), never
from the file. Upstream failures become :class:`BackendError` subclasses that name the backend;
the upstream's raw error body is never passed to the client (it could echo secrets).

Timeouts: ``connect`` (TCP/TLS set-up), ``first_byte`` (until the upstream starts answering, and
also the longest silence allowed between two streamed chunks) and ``total`` (the whole request).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

import aiohttp
import orjson
from pydantic import Field, field_validator

from souverain.backends.base import (
    MEDIA_KINDS,
    OPTIONAL_PARAMS,
    Backend,
    BackendBadResponse,
    BackendError,
    BackendOverloaded,
    BackendRejected,
    BackendTimeout,
    BackendUnavailable,
    Capabilities,
    Completion,
    Embeddings,
    GenerationRequest,
    Health,
    StreamEvent,
    Usage,
    estimate_prompt_tokens,
    estimate_tokens,
    merge_tool_call_deltas,
)
from souverain.backends.egress import egress_body
from souverain.config.models import BackendConfigBase, Strict

#: what reading a malformed upstream JSON body can raise (orjson's error is a ValueError)
_MALFORMED = (KeyError, IndexError, TypeError, AttributeError, ValueError)

#: After a connection failure the backend counts as unhealthy for this long (placement skips it).
DOWN_COOLDOWN_S = 15.0


class DimensionsUnsupported(BackendRejected):
    code = "unsupported_parameter"


class TimeoutsConfig(Strict):
    connect: float = Field(5.0, gt=0)
    first_byte: float = Field(60.0, gt=0)
    total: float = Field(600.0, gt=0)


class DeclaredCapabilities(Strict):
    streaming: bool = True
    tools: bool = True
    json_mode: bool = True
    context_length: int | None = Field(None, ge=1)
    #: the upstream model generates text (false for an embedding model)
    generation: bool = True
    #: the upstream model answers POST /embeddings
    embeddings: bool = False
    #: the length of its vectors, when known; ``dimensions`` other than this one is a 400 unless
    #: ``shortens_embeddings`` (OpenAI's text-embedding-3 models)
    embedding_dimensions: int | None = Field(None, ge=1)
    shortens_embeddings: bool = False
    #: content parts forwarded as they are (the upstream model reads them, or rejects them)
    media_input: list[Literal["image", "audio", "file", "video"]] = Field(
        default_factory=lambda: list(MEDIA_KINDS)
    )
    #: optional request parameters it honours (forwarded); one it does not is a 400
    params: list[str] = Field(default_factory=lambda: list(OPTIONAL_PARAMS))

    @field_validator("params")
    @classmethod
    def _params(cls, v: list[str]) -> list[str]:
        unknown = [p for p in v if p not in OPTIONAL_PARAMS]
        if unknown:
            raise ValueError(f"unknown {unknown}; the optional parameters: {list(OPTIONAL_PARAMS)}")
        return v


class OpenAIConfig(BackendConfigBase):
    type: Literal["openai"]
    base_url: str = Field(pattern=r"^https?://")
    model: str = Field(min_length=1, description="the upstream's model name")
    api_key_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    timeouts: TimeoutsConfig = Field(default_factory=TimeoutsConfig)
    capabilities: DeclaredCapabilities = Field(default_factory=DeclaredCapabilities)
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    max_connections: int = Field(100, ge=1)

    def load_line(self) -> str:
        return f"backend {self.name}: openai at {self.base_url} (remote)"


#: what of an upstream's error body may be kept: identifiers (type, code, param), never its message
_TOKEN = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,64}")


def _error_summary(body: bytes) -> str:
    """``type``, ``code`` and ``param`` of an OpenAI-shaped error body, when each is a short
    identifier. Never the provider's ``message``: real APIs quote the request in it (prompt text,
    personal data), and this summary reaches the client, the logs and the ledger's ``reason``."""
    try:
        error = orjson.loads(body).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    if not isinstance(error, dict):
        return ""
    parts = []
    for field in ("type", "code", "param"):
        value = error.get(field)
        if isinstance(value, str | int) and _TOKEN.fullmatch(str(value)):
            parts.append(f"{field} {value}")
    return "; ".join(parts)


def _logprobs(choice: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """A choice's logprobs as chat entries (``token``, ``logprob``, ``bytes``, ``top_logprobs``):
    the chat API's ``logprobs.content``, or the legacy completion's parallel lists."""
    lp = choice.get("logprobs") or {}
    if kind == "chat":
        return [dict(e) for e in lp.get("content") or []]
    tops = lp.get("top_logprobs") or []
    out = []
    for i, (token, logprob) in enumerate(
        zip(lp.get("tokens") or [], lp.get("token_logprobs") or [], strict=False)
    ):
        alts = tops[i] if i < len(tops) and isinstance(tops[i], dict) else {}
        out.append(
            {
                "token": str(token),
                "logprob": float(logprob) if logprob is not None else None,
                "bytes": list(str(token).encode()),
                "top_logprobs": [
                    {"token": str(t), "logprob": float(v), "bytes": list(str(t).encode())}
                    for t, v in alts.items()
                ],
            }
        )
    return out


class OpenAIBackend(Backend):
    type_name = "openai"
    config_model = OpenAIConfig
    config: OpenAIConfig

    def __init__(self, config: OpenAIConfig):
        super().__init__(config)
        self._client: aiohttp.ClientSession | None = None
        self._json_headers: dict[str, str] = {"Content-Type": "application/json"}
        self._down_until = 0.0
        self._down_reason = ""
        self._base = config.base_url.rstrip("/")

    @property
    def capabilities(self) -> Capabilities:
        c = self.config.capabilities
        return Capabilities(
            c.streaming,
            c.tools,
            c.json_mode,
            c.context_length,
            generation=c.generation,
            embeddings=c.embeddings,
            embedding_dimensions=c.embedding_dimensions,
            shortens_embeddings=c.shortens_embeddings or c.embedding_dimensions is None,
            media_input=frozenset(c.media_input),
            params=frozenset(c.params),
        )

    def _api_key(self) -> str | None:
        env = self.config.api_key_env
        return os.environ.get(env) or None if env else None

    async def start(self) -> None:
        t = self.config.timeouts
        headers = {"Accept": "application/json"}
        key = self._api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._client = aiohttp.ClientSession(
            headers=headers,
            # sock_read bounds the wait for the first byte and every later silence
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=t.connect, sock_read=t.first_byte
            ),
            connector=aiohttp.TCPConnector(limit=self.config.max_connections, ttl_dns_cache=300),
            trust_env=False,  # no proxy picked up from the environment: only the configured URL
            read_bufsize=2**20,
            auto_decompress=True,
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    # -- health -------------------------------------------------------------------------------------
    def _missing_key(self) -> str | None:
        env = self.config.api_key_env
        if env and not os.environ.get(env):
            return f"environment variable {env} is not set"
        return None

    def is_healthy(self) -> bool:
        return self._missing_key() is None and time.monotonic() >= self._down_until

    def unhealthy_reason(self) -> str:
        return (
            self._missing_key()
            or f"down: {self._down_reason or 'unreachable'}, retried after {DOWN_COOLDOWN_S:g}s"
        )

    def _mark_down(self, reason: str) -> None:
        self._down_until = time.monotonic() + DOWN_COOLDOWN_S
        self._down_reason = reason

    async def health(self) -> Health:
        missing = self._missing_key()
        if missing:
            return Health(False, missing)
        if self._client is None:
            return Health(False, "not started")
        t = self.config.timeouts
        try:
            async with self._client.get(
                self._base + "/models",
                timeout=aiohttp.ClientTimeout(
                    total=t.connect + t.first_byte, sock_connect=t.connect
                ),
            ) as resp:
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._mark_down(f"unreachable: {type(exc).__name__}")
            return Health(False, f"unreachable ({type(exc).__name__})")
        if status in (401, 403):
            return Health(False, f"reachable, but credentials rejected (HTTP {status})")
        if status >= 500:
            return Health(False, f"reachable, HTTP {status}")
        self._down_until = 0.0
        return Health(True, f"reachable (HTTP {status})")

    # -- request building -----------------------------------------------------------------------------
    def _body(self, req: GenerationRequest, stream: bool) -> tuple[str, dict[str, Any]]:
        """The request body: what :func:`egress_body` built (and the content policy scanned),
        plus only this backend's own fields (model name, max-tokens spelling, stream flags)."""
        body: dict[str, Any] = {"model": self.config.model, **egress_body(req)}
        if req.kind == "embedding":
            return "/embeddings", {**body, "encoding_format": "float"}
        path = "/chat/completions" if req.kind == "chat" else "/completions"
        field = self.config.max_tokens_field
        if req.kind == "chat" and field != "max_tokens" and "max_tokens" in body:
            body[field] = body.pop("max_tokens")
        if req.kind == "completion" and body.pop("logprobs", None):  # the legacy spelling: a count
            body["logprobs"] = body.pop("top_logprobs", 0)
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return path, body

    def _status_error(self, resp: aiohttp.ClientResponse, body: bytes) -> BackendError:
        status = resp.status
        if status == 429:
            retry = resp.headers.get("retry-after")
            return BackendOverloaded(
                self.name,
                "the upstream is rate-limiting (HTTP 429)",
                retry_after=float(retry) if retry and retry.isdigit() else 5.0,
            )
        if status in (401, 403):
            return BackendBadResponse(
                self.name,
                f"the upstream rejected the credentials (HTTP {status}); check api_key_env",
            )
        if status in (400, 422):
            summary = _error_summary(body)
            detail = f"; {summary}" if summary else ""
            return BackendRejected(
                self.name, f"the upstream rejected the request (HTTP {status}{detail})"
            )
        if status >= 500:
            return BackendBadResponse(self.name, f"the upstream failed (HTTP {status})")
        return BackendBadResponse(self.name, f"unexpected upstream status HTTP {status}")

    def _transport_error(self, exc: BaseException, started: bool) -> BackendError:
        t = self.config.timeouts
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            self._mark_down("connect timeout")
            return BackendTimeout(self.name, f"could not connect within {t.connect:g}s")
        if isinstance(exc, aiohttp.ClientConnectorError):
            self._mark_down("connection refused")
            return BackendUnavailable(self.name, "cannot connect to the upstream")
        if isinstance(exc, aiohttp.SocketTimeoutError | TimeoutError):
            what = "no data for" if started else "no first byte within"
            return BackendTimeout(self.name, f"{what} {t.first_byte:g}s")
        return BackendBadResponse(
            self.name, f"connection to the upstream lost ({type(exc).__name__})"
        )

    # -- generation -----------------------------------------------------------------------------------
    async def _post(self, request: GenerationRequest) -> bytes:
        """A non-streamed request: the upstream's 200 body, or the BackendError it amounts to."""
        if self._client is None:
            raise BackendUnavailable(self.name, "not started")
        path, body = self._body(request, stream=False)
        try:
            async with asyncio.timeout(self.config.timeouts.total):
                async with self._client.post(
                    self._base + path, data=orjson.dumps(body), headers=self._json_headers
                ) as resp:
                    content = await resp.read()
                    if resp.status != 200:
                        raise self._status_error(resp, content)
        except BackendError:
            raise
        except TimeoutError as exc:
            if isinstance(exc, aiohttp.ServerTimeoutError):
                raise self._transport_error(exc, started=False) from None
            raise BackendTimeout(
                self.name, f"no complete answer within {self.config.timeouts.total:g}s"
            ) from None
        except aiohttp.ClientError as exc:
            raise self._transport_error(exc, started=False) from None
        return content

    async def embed(self, request: GenerationRequest) -> Embeddings:
        content = await self._post(request)
        n = len(request.input or [])
        try:
            data = orjson.loads(content)
            items = sorted(data["data"], key=lambda d: int(d["index"]))
            if items and items[0]["embedding"] and isinstance(items[0]["embedding"][0], list):
                raise BackendBadResponse(
                    self.name,
                    "the upstream sent one vector per token (no pooling), not one per input: "
                    "give its model a pooling type",
                )
            vectors = [[float(x) for x in item["embedding"]] for item in items]
            if len(vectors) != n or [int(d["index"]) for d in items] != list(range(n)):
                raise ValueError("one vector per input")
            usage = data.get("usage") or {}
            tokens = int(usage.get("prompt_tokens") or 0)
        except BackendError:
            raise
        except _MALFORMED:
            raise BackendBadResponse(
                self.name, "the upstream sent an invalid embeddings response"
            ) from None
        want = request.dimensions
        if want is not None and any(len(v) != want for v in vectors):
            got = next(len(v) for v in vectors if len(v) != want)
            raise DimensionsUnsupported(
                self.name, f"the upstream cannot give {want}-dimensional vectors (it gave {got})"
            )
        if not tokens:
            return Embeddings(vectors, Usage(estimate_prompt_tokens(request), estimated=True))
        return Embeddings(vectors, Usage(tokens))

    async def complete(self, request: GenerationRequest) -> Completion:
        content = await self._post(request)
        try:
            data = orjson.loads(content)
            choice = data["choices"][0]
            if request.kind == "chat":
                message = choice.get("message") or {}
                text = message.get("content") or ""
                tool_calls = message.get("tool_calls") or None
            else:
                text, tool_calls = choice.get("text") or "", None
            finish = choice.get("finish_reason") or "stop"
            usage = data.get("usage") or {}
            logprobs = _logprobs(choice, request.kind) if request.logprobs else None
            return Completion(
                text=str(text),
                finish_reason=str(finish),
                usage=Usage(
                    int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
                ),
                tool_calls=tool_calls,
                logprobs=logprobs,
            )
        except _MALFORMED:
            raise BackendBadResponse(self.name, "the upstream sent an invalid response") from None

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamEvent]:
        if self._client is None:
            raise BackendUnavailable(self.name, "not started")
        path, body = self._body(request, stream=True)
        total = self.config.timeouts.total
        deadline = time.monotonic() + total
        started = False
        try:
            async with self._client.post(
                self._base + path, data=orjson.dumps(body), headers=self._json_headers
            ) as resp:
                if resp.status != 200:
                    raise self._status_error(resp, await resp.read())
                if not resp.headers.get("Content-Type", "").startswith("text/event-stream"):
                    raise BackendBadResponse(
                        self.name, "the upstream did not answer with an event stream"
                    )
                finish: str | None = None
                usage: Usage | None = None
                done = False
                chars = 0
                async for raw in resp.content:
                    if time.monotonic() > deadline:
                        raise BackendTimeout(self.name, f"no complete answer within {total:g}s")
                    line = raw.decode("utf-8", "replace").strip()
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        done = True
                        break
                    event, chunk_finish, chunk_usage = self._parse_chunk(payload, request.kind)
                    started = True
                    finish = chunk_finish or finish
                    usage = chunk_usage or usage
                    if event is not None:
                        chars += len(event.text)
                        yield event
                if not done and finish is None:
                    raise BackendBadResponse(self.name, "the upstream ended the stream early")
                if usage is None:  # the upstream ignores stream_options.include_usage
                    usage = Usage(
                        estimate_prompt_tokens(request),
                        max(1, estimate_tokens(chars)),
                        estimated=True,
                    )
                yield StreamEvent(finish_reason=finish or "stop", usage=usage)
        except BackendError:
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._transport_error(exc, started) from None

    def _parse_chunk(
        self, payload: str, kind: str
    ) -> tuple[StreamEvent | None, str | None, Usage | None]:
        try:
            data = orjson.loads(payload)
            if "error" in data:
                raise BackendBadResponse(self.name, "the upstream reported an error mid-stream")
            usage = None
            if data.get("usage"):
                u = data["usage"]
                usage = Usage(
                    int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0)
                )
            choices = data.get("choices") or []
            if not choices:
                return None, None, usage
            choice = choices[0]
            finish = choice.get("finish_reason")
            if kind == "chat":
                delta = choice.get("delta") or {}
                text = delta.get("content") or ""
                tool_calls = delta.get("tool_calls") or None
            else:
                text, tool_calls = choice.get("text") or "", None
            logprobs = _logprobs(choice, kind) or None
            event = (
                StreamEvent(text=str(text), tool_calls=tool_calls, logprobs=logprobs)
                if (text or tool_calls or logprobs)
                else None
            )
            return event, finish, usage
        except BackendError:
            raise
        except _MALFORMED:
            raise BackendBadResponse(
                self.name, "the upstream sent invalid JSON in the stream"
            ) from None


__all__ = ["OpenAIBackend", "OpenAIConfig", "merge_tool_call_deltas"]
