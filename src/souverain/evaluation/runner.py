"""Run a task suite through the gateway's own pipeline, one backend at a time.

Every item goes through the same placement, data actions, backend code and metering as a
production request (``CallContext(kind="bench", only_backend=...)``), so a use case's policy
applies during the bench exactly as in production: a backend the policy forbids is reported as
*excluded (reason)* and never called, and an item whose data must stay local is never sent to a
remote backend. Every call leaves a ledger row marked ``kind = "bench"``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from souverain.backends.base import BackendError, GenerationRequest, Usage, generation_params
from souverain.config.models import UseCaseConfig
from souverain.evaluation import embedtasks
from souverain.evaluation.embedtasks import EMBEDDING_SCORERS
from souverain.evaluation.suite import Suite, SuiteItem
from souverain.gateway.call import CallContext, Refusal
from souverain.gateway.runtime import Runtime
from souverain.ledger.record import Kind
from souverain.policy.placement import Needs, place


@dataclass
class BenchRun:
    records: list[dict[str, Any]] = field(default_factory=list)
    #: backends not run at all, with the reason (policy, health, not a candidate)
    excluded: dict[str, str] = field(default_factory=dict)
    #: per backend: items the data actions kept away from it (never sent), with the reason
    skipped_items: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def plan_backends(
    runtime: Runtime, use_case: UseCaseConfig, names: list[str] | None
) -> tuple[list[str], dict[str, str]]:
    """Which backends to run, and which are excluded (with the placement's reason)."""
    wanted = names or list(use_case.backends)
    # no content: only policy, capability and health; embedding models run embedding requests
    text = {e.backend: e.reason for e in place(use_case, runtime.backends).excluded}
    embed_needs = Needs(embedding=True)
    embed = {
        e.backend: e.reason for e in place(use_case, runtime.backends, needs=embed_needs).excluded
    }
    run, excluded = [], {}
    for name in wanted:
        reasons = embed if is_embedder(runtime, name) else text
        if name not in use_case.backends:
            excluded[name] = f"not a candidate of use case {use_case.name!r}"
        elif name in reasons:
            excluded[name] = reasons[name]
        else:
            run.append(name)
    return run, excluded


def is_embedder(runtime: Runtime, name: str) -> bool:
    """An embedding model: it runs a suite by embeddings (:mod:`souverain.evaluation.embedtasks`)."""
    backend = runtime.backends.get(name)
    return backend is not None and not backend.capabilities.generation


def generation_request(suite: Suite, item: SuiteItem, request_id: str) -> GenerationRequest:
    return GenerationRequest(
        kind="chat",
        messages=[dict(m) for m in item.messages],
        **generation_params({"temperature": 0.0, **suite.generation}),
        request_id=request_id,
    )


AUDIT_FIELDS = (
    "energy_wh",
    "energy_wh_low",
    "energy_wh_high",
    "energy_method",
    "cost_eur",
    "cost_method",
)


async def run_request(
    runtime: Runtime,
    use_case: UseCaseConfig,
    backend: str,
    request: GenerationRequest,
    *,
    kind: Kind = "bench",
) -> dict[str, Any]:
    """One request on one backend through the pipeline (streamed when the backend can, for TTFT):
    a record with output, latency_s, ttft_s, tokens, energy and cost (from the ledger row), and
    ``error`` (plus ``refused: True`` when placement refused it: it was never sent)."""
    rid = f"{kind}-{secrets.token_hex(10)}"
    request.request_id = rid
    stream = runtime.backends[backend].capabilities.streaming
    ctx = CallContext(rid, use_case, None, kind=kind, stream=stream, only_backend=backend)
    record: dict[str, Any] = {"backend": backend, "request_id": rid}
    started = time.perf_counter()
    text, usage = "", Usage()
    try:
        answer = await runtime.pipeline.open(ctx, request)
        if stream:
            parts = []
            async for event in answer.events():
                if event.text:
                    parts.append(event.text)
                if event.usage is not None:
                    usage = event.usage
            text = "".join(parts)
        else:
            completion = await answer.finish_completion()
            text, usage = completion.text, completion.usage
        record["ttft_s"] = answer.ttft_s
        record["decision"] = answer.decision
    except Refusal as refusal:
        record.update(refused=True, error=f"{refusal.code}: {refusal.message}")
        return record
    except BackendError as exc:
        record["error"] = f"{exc.code}: {exc}"
    record["latency_s"] = time.perf_counter() - started
    record["output"] = text
    record["prompt_tokens"] = usage.prompt_tokens
    record["completion_tokens"] = usage.completion_tokens
    if ctx.audit is not None:
        for key in AUDIT_FIELDS:
            record[key] = getattr(ctx.audit, key)
    return record


async def run_item(
    runtime: Runtime,
    suite: Suite,
    use_case: UseCaseConfig,
    backend: str,
    item: SuiteItem,
    *,
    kind: Kind = "bench",
) -> dict[str, Any]:
    """One suite item on one backend: :func:`run_request`, then the suite's score."""
    record = await run_request(
        runtime, use_case, backend, generation_request(suite, item, ""), kind=kind
    )
    record["item_id"] = item.id
    if record.pop("refused", False):
        record["skipped"] = True
        return record
    scored = suite.score(item, record.get("output", "")) if "error" not in record else None
    record["score"] = scored.score if scored else 0.0
    record["score_details"] = scored.details if scored else {}
    return record


async def run_bench(
    runtime: Runtime,
    suite: Suite,
    use_case: UseCaseConfig,
    backends: list[str] | None = None,
    limit: int | None = None,
    on_item: Callable[[str, dict[str, Any]], None] | None = None,
    *,
    kind: Kind = "bench",
) -> BenchRun:
    run = BenchRun()
    names, run.excluded = plan_backends(runtime, use_case, backends)
    items = suite.items[:limit] if limit else suite.items
    for name in names:
        ref = None
        if is_embedder(runtime, name):
            if suite.scorer not in EMBEDDING_SCORERS:
                run.excluded[name] = (
                    f"an embedding model cannot run a {suite.scorer!r} suite "
                    f"(it runs {', '.join(sorted(EMBEDDING_SCORERS))})"
                )
                continue
            try:
                ref = await embedtasks.reference(runtime, suite, use_case, name, kind)
            except embedtasks.EmbeddingTaskError as exc:
                run.excluded[name] = f"could not embed the suite's reference set: {exc}"
                continue
        for item in items:
            if ref is not None:
                record = await embedtasks.run_embedding_item(
                    runtime, suite, use_case, name, item, ref, kind
                )
            else:
                record = await run_item(runtime, suite, use_case, name, item, kind=kind)
            if record.get("skipped"):
                run.skipped_items.setdefault(name, []).append((item.id, record["error"]))
            else:
                run.records.append(record)
            if on_item is not None:
                on_item(name, record)
        skipped = run.skipped_items.get(name, [])
        if skipped and len(skipped) == len(items):
            run.excluded[name] = f"every item refused: {skipped[0][1]}"
        elif skipped:
            run.excluded[f"{name} (partly)"] = (
                f"{len(skipped)} of {len(items)} items never sent: {skipped[0][1]}"
            )
    return run
