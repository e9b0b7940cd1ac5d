"""The one small backend contract every backend type implements.

A backend turns a :class:`GenerationRequest` into a stream of :class:`StreamEvent` objects. It
declares its capabilities and its sovereignty metadata as data (policy and routing read them;
nothing probes). ``complete()`` is derived from ``stream()`` so that, at temperature 0, a streamed
answer and a non-streamed one are the same text by construction.
"""

from __future__ import annotations

import abc
import functools
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel

RequestKind = Literal["chat", "completion", "embedding"]


#: Request parameters a backend may or may not honour (``Capabilities.params``): one a request
#: sets (to other than its neutral value) excludes a backend that does not declare it, so it is
#: never silently ignored (a 400 ``unsupported_parameter`` where no candidate honours it).
OPTIONAL_PARAMS: tuple[str, ...] = (
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
)


#: the kind of input each non-text content part type carries (``image_url`` -> image, ...)
PART_MEDIA: dict[str, str] = {
    "image_url": "image",
    "input_image": "image",
    "image": "image",
    "input_audio": "audio",
    "audio": "audio",
    "file": "file",
    "input_file": "file",
    "video_url": "video",
}
MEDIA_KINDS: tuple[str, ...] = ("image", "audio", "file", "video")


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend can do, declared (never probed)."""

    streaming: bool = True
    tools: bool = False
    json_mode: bool = False
    #: for an embedding model: the longest input, in tokens
    context_length: int | None = None
    #: generates text (chat, completions); an embedding-only model does not
    generation: bool = True
    #: answers ``embed()`` (POST /v1/embeddings)
    embeddings: bool = False
    #: the length of its vectors, when known (``dimensions`` may only ask for this one)
    embedding_dimensions: int | None = None
    #: gives shorter vectors on request (``dimensions``), as OpenAI's text-embedding-3 do
    shortens_embeddings: bool = False
    #: the kinds of non-text content parts it reads (:data:`MEDIA_KINDS`); none: text only
    media_input: frozenset[str] = frozenset()
    #: the :data:`OPTIONAL_PARAMS` it honours
    params: frozenset[str] = frozenset(OPTIONAL_PARAMS)


@dataclass(frozen=True, slots=True)
class BackendMetadata:
    """Sovereignty facts about a backend, copied from its config."""

    name: str
    type: str
    self_hosted: bool
    operator: str
    operator_jurisdiction: str
    location: str
    open_weights: bool
    model: str

    @classmethod
    def from_config(cls, c: Any) -> BackendMetadata:
        return cls(
            name=c.name,
            type=c.type,
            self_hosted=c.self_hosted,
            operator=c.operator,
            operator_jurisdiction=c.operator_jurisdiction,
            location=c.location,
            open_weights=c.open_weights,
            model=str(c.model),
        )


#: The generation parameters of a request, as :class:`GenerationRequest` names them: the one list
#: (the API fills them from the wire, capture keeps them, replays and suites set them; what
#: leaves is every field of the request, see :mod:`souverain.backends.egress`).
GENERATION_PARAMS: tuple[str, ...] = (
    "max_tokens",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "response_format",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
)


def generation_params(values: Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`GENERATION_PARAMS` of ``values`` (a stored payload, a suite's generation) as
    :class:`GenerationRequest` keyword arguments: other keys are ignored, a missing one is None,
    ``stop`` is a list (a single string becomes a list of one)."""
    params = {name: values.get(name) for name in GENERATION_PARAMS}
    stop = params["stop"]
    params["stop"] = [stop] if isinstance(stop, str) else list(stop or [])
    return params


@dataclass(slots=True)
class GenerationRequest:
    """What the gateway asks of a backend, after policy decided what may be forwarded."""

    kind: RequestKind
    messages: list[dict[str, Any]] | None = None
    prompt: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    #: False: at most one tool call in the answer (None: the backend's default, several allowed)
    parallel_tool_calls: bool | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    #: token id (as a string, as OpenAI sends it) -> bias added to its logit, -100..100
    logit_bias: dict[str, float] | None = None
    #: the client's end-user id: client text, sent upstream (and so scanned) like the rest
    user: str | None = None
    #: the log probability of each generated token, and of the ``top_logprobs`` likeliest
    #: alternatives at each position (0-20; a completion's ``logprobs: n`` is this ``n``)
    logprobs: bool | None = None
    top_logprobs: int | None = None
    #: embeddings: the inputs, strings or token arrays (one vector each)
    input: list[str] | list[list[int]] | None = None
    #: embeddings: the vector length the client asked for
    dimensions: int | None = None
    #: Other OpenAI sampling fields the policy layer allowed through (presence_penalty, ...).
    extra: dict[str, Any] = field(default_factory=dict)
    request_id: str = ""

    def generation_params(self) -> dict[str, Any]:
        """Its :data:`GENERATION_PARAMS` that are set (None and an empty ``stop`` left out)."""
        values = {name: getattr(self, name) for name in GENERATION_PARAMS}
        return {k: v for k, v in values.items() if v is not None and not (k == "stop" and not v)}

    def optional_params(self) -> tuple[str, ...]:
        """The :data:`OPTIONAL_PARAMS` this request sets to other than their neutral value."""
        return tuple(p for p in OPTIONAL_PARAMS if getattr(self, p) not in (None, 0, {}))

    def uses_tools(self) -> bool:
        """Tools the model may call: ``tool_choice: "none"`` means it answers in text."""
        return bool(self.tools) and self.tool_choice != "none"

    def uses_json_mode(self) -> bool:
        rf = self.response_format or {}
        return rf.get("type") in ("json_object", "json_schema")


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: True when the backend reported no usage and the counts are estimated (~4 characters/token)
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


#: The token estimate where no tokenizer is at hand: about this many characters a token.
CHARS_PER_TOKEN = 4


def estimate_tokens(chars: int) -> int:
    """Tokens in ``chars`` characters of text, estimated (~:data:`CHARS_PER_TOKEN` a token)."""
    return chars // CHARS_PER_TOKEN


def estimate_prompt_tokens(request: GenerationRequest) -> int:
    """The prompt's size in tokens, estimated at ~4 characters a token (no tokenizer here)."""
    import orjson

    if request.kind == "chat":
        return max(1, estimate_tokens(len(orjson.dumps(request.messages or []))))
    if request.kind == "embedding":
        return max(
            1,
            sum(
                len(i) if isinstance(i, list) else estimate_tokens(len(i))
                for i in request.input or []
            ),
        )
    return max(1, estimate_tokens(len(str(request.prompt or ""))))


@dataclass(slots=True)
class StreamEvent:
    """One piece of a generation: text, tool-call deltas, a finish reason, or the final usage.

    ``finish_reason`` and ``usage`` arrive on the last event only.
    """

    text: str = ""
    tool_calls: list[dict[str, Any]] | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    #: with ``logprobs``: one entry per token of this piece, as OpenAI's chat
    #: ``logprobs.content`` (``token``, ``logprob``, ``bytes``, ``top_logprobs``)
    logprobs: list[dict[str, Any]] | None = None


@dataclass(slots=True)
class Completion:
    text: str
    finish_reason: str
    usage: Usage
    tool_calls: list[dict[str, Any]] | None = None
    logprobs: list[dict[str, Any]] | None = None


@dataclass(slots=True)
class Embeddings:
    """One vector per input, in input order, and the tokens the model read."""

    vectors: list[list[float]]
    usage: Usage


@dataclass(slots=True)
class Health:
    ok: bool
    detail: str = ""
    checked_at: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail}


@dataclass(slots=True)
class ResourceUsage:
    """Resources one generation consumed on this machine (self-hosted backends), for metering."""

    cpu_seconds: float = 0.0
    busy_seconds: float = 0.0
    threads: int = 1


class ResourceLog:
    """The resource use of a self-hosted backend's recent requests, kept until the gateway reads
    it (``last_resource_usage``); the oldest go first beyond ``keep``."""

    def __init__(self, keep: int = 256) -> None:
        self._keep = keep
        self._items: OrderedDict[str, ResourceUsage] = OrderedDict()

    def record(self, request_id: str, t0: float, cpu0: float, threads: int) -> None:
        """Since ``t0`` (``time.perf_counter``) and ``cpu0`` (``time.process_time``)."""
        self._items[request_id] = ResourceUsage(
            cpu_seconds=time.process_time() - cpu0,
            busy_seconds=time.perf_counter() - t0,
            threads=threads,
        )
        while len(self._items) > self._keep:
            self._items.popitem(last=False)

    def pop(self, request_id: str) -> ResourceUsage | None:
        return self._items.pop(request_id, None)


class BackendError(Exception):
    """A backend failed. ``status`` is the HTTP status the client gets (502, 503, 504, 429)."""

    code: ClassVar[str] = "backend_error"
    status: ClassVar[int] = 502
    #: the request parameter at fault, for a rejected request
    param: ClassVar[str | None] = None

    def __init__(self, backend: str, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.backend = backend
        self.message = message
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"backend {self.backend!r}: {self.message}"


class BackendUnavailable(BackendError):
    code = "backend_unavailable"
    status = 503


class BackendTimeout(BackendError):
    code = "backend_timeout"
    status = 504


class BackendBadResponse(BackendError):
    code = "backend_bad_response"
    status = 502


class BackendOverloaded(BackendError):
    """The backend's bounded queue is full: the client should retry later (429 + Retry-After)."""

    code = "backend_overloaded"
    status = 429


class BackendRejected(BackendError):
    """The upstream rejected the request as invalid (its 4xx): passed on as 400, not retried."""

    code = "backend_rejected_request"
    status = 400


class ContextLengthExceeded(BackendRejected):
    code = "context_length_exceeded"
    status = 400
    param = "messages"


class InvalidTokenIds(BackendRejected):
    code = "invalid_value"
    status = 400


def check_token_ids(backend: str, index: int, ids: list[int], vocab: int) -> None:
    """Input ``index`` given as token ids: each must be one of the model's ``vocab`` ids."""
    bad = next((t for t in ids if not 0 <= t < vocab), None)
    if bad is not None:
        raise InvalidTokenIds(
            backend, f"input[{index}]: token id {bad} is outside this model's 0..{vocab - 1}"
        )


def check_input_length(backend: str, index: int, tokens: int, limit: int) -> None:
    if tokens > limit:
        raise ContextLengthExceeded(
            backend, f"input[{index}] is {tokens} tokens; this model reads at most {limit}"
        )


class Backend(abc.ABC):
    """Base class of every backend type. Subclasses set ``type_name`` and ``config_model``."""

    type_name: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]
    #: the generation runs in this process, so this machine's energy meter measures it
    computes_here: ClassVar[bool] = False

    def __init__(self, config: Any):
        self.config = config
        self.name: str = config.name

    # -- data, read by policy and routing -------------------------------------------------------
    @functools.cached_property
    def metadata(self) -> BackendMetadata:
        """Built once: the config is immutable (placement reads it on every request)."""
        return BackendMetadata.from_config(self.config)

    @property
    @abc.abstractmethod
    def capabilities(self) -> Capabilities: ...

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:  # noqa: B027 - optional hook
        """Load or connect. Called once by the app at start-up."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""

    @abc.abstractmethod
    async def health(self) -> Health: ...

    def is_healthy(self) -> bool:
        """Cheap, cached view of health used by placement on the hot path."""
        return True

    def unhealthy_reason(self) -> str:
        """Why :meth:`is_healthy` is False, in a few words (shown in refusals)."""
        return "down or not ready"

    def is_loading(self) -> bool:
        """Not healthy *yet*: its model is still loading and it will serve once loaded (the
        client is told to retry, not refused). False for a load that failed."""
        return False

    # -- generation ---------------------------------------------------------------------------------
    @abc.abstractmethod
    def stream(self, request: GenerationRequest) -> AsyncIterator[StreamEvent]:
        """Yield events; the last one carries ``finish_reason`` and ``usage``.

        Raises a :class:`BackendError` on failure. Closing the iterator (client disconnect) must
        stop the generation.
        """

    async def complete(self, request: GenerationRequest) -> Completion:
        parts: list[str] = []
        tool_calls: list[dict[str, Any]] = []
        logprobs: list[dict[str, Any]] | None = [] if request.logprobs else None
        finish = "stop"
        usage = Usage()
        async for event in self.stream(request):
            if event.logprobs and logprobs is not None:
                logprobs.extend(event.logprobs)
            if event.text:
                parts.append(event.text)
            if event.tool_calls:
                merge_tool_call_deltas(tool_calls, event.tool_calls)
            if event.finish_reason:
                finish = event.finish_reason
            if event.usage:
                usage = event.usage
        return Completion("".join(parts), finish, usage, tool_calls or None, logprobs)

    async def embed(self, request: GenerationRequest) -> Embeddings:
        """One vector per ``request.input`` (backends with ``capabilities.embeddings``)."""
        raise BackendRejected(self.name, "this backend does not give embeddings")

    def last_resource_usage(self, request_id: str) -> ResourceUsage | None:
        """Resources the given request used here, when the backend can tell (self-hosted)."""
        return None


async def not_a_generator(backend: str) -> AsyncIterator[StreamEvent]:
    """``stream()`` of an embedding-only backend (placement never sends it a generation)."""
    raise BackendRejected(backend, "this is an embedding model: it does not generate text")
    yield StreamEvent()  # pragma: no cover - makes this an async generator


def merge_tool_call_deltas(acc: list[dict[str, Any]], deltas: list[dict[str, Any]]) -> None:
    """Fold streamed tool-call deltas (OpenAI format) into complete tool calls."""
    for delta in deltas:
        index = delta.get("index", len(acc))
        while len(acc) <= index:
            acc.append({"id": "", "type": "function", "function": {"name": "", "arguments": ""}})
        call = acc[index]
        if delta.get("id"):
            call["id"] = delta["id"]
        if delta.get("type"):
            call["type"] = delta["type"]
        fn = delta.get("function") or {}
        if fn.get("name"):
            call["function"]["name"] += fn["name"]
        if fn.get("arguments"):
            call["function"]["arguments"] += fn["arguments"]
