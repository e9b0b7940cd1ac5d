"""Suites run by an embedding model: the same items, scorer and metering as for a chat model, so
that "flip the metric" compares embedding backends with chat backends on the same work.

- ``recall_at_k`` (retrieval): the corpus (``options.corpus``) is embedded once, each query is
  embedded and the documents ranked by cosine similarity; the output is the ranked ids.
- ``label`` (classification, nearest centroid): the suite's few-shot turns (a user document, then
  the assistant's label: the same labelled examples a chat model sees in its prompt) are embedded
  once; each label's centroid is the mean of its examples; each item's document gets the label of
  the nearest centroid.

Every request goes through the pipeline (policy, placement, ledger row marked ``bench``). The one
request that embeds the corpus or the examples is metered like the others but not scored.
"""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Any

import numpy as np

from souverain.backends.base import BackendError, GenerationRequest
from souverain.config.models import UseCaseConfig
from souverain.evaluation.suite import Suite, SuiteItem
from souverain.gateway.call import CallContext, Refusal
from souverain.gateway.runtime import Runtime
from souverain.ledger.record import Kind

#: scorers an embedding model can run
EMBEDDING_SCORERS = frozenset({"recall_at_k", "label"})
AUDIT_FIELDS = ("energy_wh", "energy_wh_low", "energy_wh_high", "energy_method", "cost_eur")


class EmbeddingTaskError(Exception):
    """The reference set (corpus or examples) could not be embedded: nothing can be scored."""


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(str(p.get("text") or "") for p in content if isinstance(p, dict))
    return str(content or "")


def query_text(item: SuiteItem) -> str:
    users = [m for m in item.messages if m.get("role") == "user"]
    return _text(users[-1]) if users else ""


def labelled_examples(suite: Suite) -> list[tuple[str, str]]:
    """The few-shot pairs of the suite's prompt: (user document, assistant label)."""
    labels = set(suite.options.get("labels") or [])
    msgs = suite.items[0].messages[:-1] if suite.items else []
    pairs = []
    for prev, cur in itertools.pairwise(msgs):
        label = _text(cur).strip()
        if prev.get("role") == "user" and cur.get("role") == "assistant" and label in labels:
            pairs.append((_text(prev), label))
    return pairs


async def embed_request(
    runtime: Runtime, use_case: UseCaseConfig, backend: str, texts: list[str], kind: Kind
) -> tuple[np.ndarray | None, dict[str, Any]]:
    """One embeddings request on one backend through the pipeline: the vectors (normalised) and
    a bench record (latency, tokens, energy, cost; ``error`` when it failed or was refused)."""
    rid = f"{kind}-{secrets.token_hex(10)}"
    ctx = CallContext(rid, use_case, None, kind=kind, only_backend=backend)
    record: dict[str, Any] = {"backend": backend, "request_id": rid}
    started = time.perf_counter()
    request = GenerationRequest(kind="embedding", input=texts, request_id=rid)
    vectors = None
    try:
        answer = await runtime.pipeline.open(ctx, request)
        emb = await answer.finish_embeddings()
        vectors = np.asarray(emb.vectors, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.maximum(norms, 1e-12)
        record["prompt_tokens"] = emb.usage.prompt_tokens
        record["decision"] = answer.decision
    except Refusal as refusal:
        record.update(refused=True, error=f"{refusal.code}: {refusal.message}")
    except BackendError as exc:
        record["error"] = f"{exc.code}: {exc}"
    record["latency_s"] = record["ttft_s"] = time.perf_counter() - started
    record["completion_tokens"] = 0
    if ctx.audit is not None:
        for key in AUDIT_FIELDS:
            record[key] = getattr(ctx.audit, key)
    return vectors, record


async def reference(
    runtime: Runtime, suite: Suite, use_case: UseCaseConfig, backend: str, kind: Kind
) -> tuple[list[str], np.ndarray]:
    """The names and vectors queries are compared with: documents, or label centroids."""
    if suite.scorer == "recall_at_k":
        names = list(suite.options["corpus"])
        texts = [suite.options["corpus"][n] for n in names]
    else:
        pairs = labelled_examples(suite)
        if not pairs:
            raise EmbeddingTaskError("the suite's prompt has no labelled examples (user, label)")
        names, texts = [label for _, label in pairs], [doc for doc, _ in pairs]
    vectors, record = await embed_request(runtime, use_case, backend, texts, kind)
    if vectors is None:
        raise EmbeddingTaskError(record.get("error", "failed"))
    if suite.scorer == "recall_at_k":
        return names, vectors
    labels = sorted(set(names))
    centroids = np.stack([vectors[[n == lab for n in names]].mean(axis=0) for lab in labels])
    return labels, centroids / np.linalg.norm(centroids, axis=1, keepdims=True)


async def run_embedding_item(
    runtime: Runtime,
    suite: Suite,
    use_case: UseCaseConfig,
    backend: str,
    item: SuiteItem,
    ref: tuple[list[str], np.ndarray],
    kind: Kind,
) -> dict[str, Any]:
    names, matrix = ref
    vectors, record = await embed_request(runtime, use_case, backend, [query_text(item)], kind)
    record["item_id"] = item.id
    if record.pop("refused", False):
        record["skipped"] = True
        return record
    if vectors is None:
        record.update(score=0.0, score_details={}, output="")
        return record
    sims = matrix @ vectors[0]
    order = [names[i] for i in np.argsort(-sims)]
    record["output"] = ", ".join(
        order[: int(suite.options.get("k", 1))] if suite.scorer == "recall_at_k" else order[:1]
    )
    scored = suite.score(item, record["output"])
    record["score"], record["score_details"] = scored.score, scored.details
    return record
