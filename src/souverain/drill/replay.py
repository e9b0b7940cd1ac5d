"""Replay a use case's workload on the current and on the exit placement, through the gateway's
own pipeline (placement, data actions, backend code, metering), every request marked
``kind = "drill"`` in the ledger.

The workload is the use case's bench suite (``use_case.suite``, first ``limit`` items) plus, when
the use case captures traffic, its live captured items (first ``limit``). Each item is placed as
the gateway would place that request — its content decides (data actions) — once as things are
and once with the removed backends gone; the first candidate of each placement serves it
(``only_backend``: no fallback, so a failure shows). An item both placements put on the same
backend is not replayed (it would be served exactly as before) but counted. An item no backend of a placement may receive
(e.g. personal data under ``keep-local`` when only remote backends remain) is recorded as refused
and scores 0. The two sides of an item are replayed one after the other, so drift over time
affects both sides alike; which side goes first alternates from one item to the next, so
neither always meets a cold cache.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from souverain.backends.base import GenerationRequest, generation_params
from souverain.capture.prepare import CapturedItem
from souverain.config.models import UseCaseConfig
from souverain.drill.compare import SIDES, similarity
from souverain.drill.removal import Removal
from souverain.evaluation.runner import generation_request, run_request
from souverain.evaluation.suite import Suite, SuiteItem
from souverain.policy.content import ContentScan
from souverain.policy.placement import place


@dataclass
class WorkItem:
    """One request of the workload and what an answer to it is scored against: the suite's
    scorer and expected output, or the answer captured in production (:func:`similarity`)."""

    workload: str  # "suite" | "capture"
    item_id: str
    request: GenerationRequest
    suite: Suite | None = None
    suite_item: SuiteItem | None = None
    reference: str | None = None

    def score(self, text: str) -> float:
        if self.suite is not None and self.suite_item is not None:
            return self.suite.score(self.suite_item, text).score
        return similarity(text, self.reference)


def suite_items(suite: Suite, limit: int | None) -> list[WorkItem]:
    items = suite.items[:limit] if limit else suite.items
    return [
        WorkItem(
            "suite",
            item.id,
            generation_request(suite, item, ""),
            suite=suite,
            suite_item=item,
        )
        for item in items
    ]


def capture_request(item: CapturedItem) -> GenerationRequest:
    """The captured request (placeholders in place of the replaced values), ready to replay."""
    payload = item.payload
    return GenerationRequest(
        kind=item.kind,
        messages=payload.get("messages"),
        prompt=payload.get("prompt"),
        **generation_params(payload),
    )


def capture_items(items: list[CapturedItem]) -> list[WorkItem]:
    return [
        WorkItem(
            "capture",
            f"capture-{item.id}",
            capture_request(item),
            reference=item.answer,
        )
        for item in items
    ]


def choose(
    runtime: Any, use_case: UseCaseConfig, request: GenerationRequest, removal: Removal | None
) -> tuple[str | None, str]:
    """The backend the gateway would serve ``request`` on (static: no health), or None and why."""
    content = ContentScan(runtime.scanner, request)
    placement = place(
        use_case,
        runtime.backends,
        content.findings,
        content.needs(stream=False),
        removed=removal,
        check_health=False,
    )
    if placement.blocked:
        return None, f"blocked by the data actions ({', '.join(placement.blocked_types)})"
    if not placement.candidates:
        return None, placement.refusal_message()
    return placement.candidates[0].backend.name, ""


async def replay(
    runtime: Any,
    use_case: UseCaseConfig,
    removal: Removal,
    items: list[WorkItem],
    on_request: Callable[[str, dict[str, Any]], None] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Every item whose placement the removal changes, on the current and the exit placement:
    one record per item and side; and how many items it leaves on the same backend (not run:
    they would be served exactly as before)."""
    records: list[dict[str, Any]] = []
    unchanged = 0
    for index, item in enumerate(items):
        choices = {
            "current": choose(runtime, use_case, item.request, None),
            "exit": choose(runtime, use_case, item.request, removal),
        }
        if choices["current"] == choices["exit"]:
            unchanged += 1
            continue
        pair: dict[str, dict[str, Any]] = {}
        # alternate which side goes first, so warm-up and caches favour neither
        for side in SIDES if index % 2 == 0 else SIDES[::-1]:
            name, why = choices[side]
            base = {"side": side, "workload": item.workload, "item_id": item.item_id}
            if name is None:
                record = {**base, "backend": None, "refused": True, "error": why, "score": 0.0}
            else:
                request = dataclasses.replace(item.request)  # the pipeline sets its request_id
                record = {
                    **base,
                    **(await run_request(runtime, use_case, name, request, kind="drill")),
                }
                record["score"] = 0.0 if record.get("error") else item.score(str(record["output"]))
            pair[side] = record
            if on_request is not None:
                on_request(side, record)
        records += [pair[side] for side in SIDES]
    return records, unchanged
