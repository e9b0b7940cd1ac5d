"""Prometheus metrics (``GET /metrics``): requests, refusals, tokens, cost, energy and latency by
use case, backend and decision.

Several worker processes: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory shared by the
workers (prometheus-client's multiprocess mode); ``/metrics`` then aggregates every worker.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

LABELS = ("use_case", "backend", "decision")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._children: dict[tuple[str, tuple[str, ...]], Any] = {}
        r = self.registry
        self.requests = Counter("souverain_requests", "Requests by outcome", LABELS, registry=r)
        self.refusals = Counter(
            "souverain_refusals",
            "Refused requests by reason code",
            ("use_case", "code"),
            registry=r,
        )
        self.unauthenticated = Counter(
            "souverain_unauthenticated",
            "Requests refused with 401 before the body was read (never written to the ledger)",
            ("code",),
            registry=r,
        )
        self.tokens = Counter("souverain_tokens", "Tokens", (*LABELS, "direction"), registry=r)
        self.cost = Counter(
            "souverain_cost_eur", "Cost in EUR (measured or estimated)", LABELS, registry=r
        )
        self.energy = Counter(
            "souverain_energy_wh", "Energy in Wh", (*LABELS, "method"), registry=r
        )
        self.latency = Histogram(
            "souverain_request_duration_seconds",
            "Request duration",
            LABELS,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            "souverain_time_to_first_token_seconds",
            "Time to first token",
            LABELS,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def observe(
        self,
        *,
        use_case: str,
        backend: str,
        decision: str,
        code: str | None,
        prompt_tokens: int,
        completion_tokens: int,
        duration_s: float,
        ttft_s: float | None,
        cost_eur: float | None,
        energy_wh: float | None,
        energy_method: str,
    ) -> None:
        labels = (use_case, backend or "-", decision)
        child = self._child
        child(self.requests, labels).inc()
        if decision == "refused" and code:
            self.refusals.labels(use_case, code).inc()
        if prompt_tokens:
            child(self.tokens, (*labels, "input")).inc(prompt_tokens)
        if completion_tokens:
            child(self.tokens, (*labels, "output")).inc(completion_tokens)
        if cost_eur:
            child(self.cost, labels).inc(cost_eur)
        if energy_wh:
            child(self.energy, (*labels, energy_method)).inc(energy_wh)
        child(self.latency, labels).observe(duration_s)
        if ttft_s is not None:
            child(self.ttft, labels).observe(ttft_s)

    def _child(self, metric: Any, labels: tuple[str, ...]) -> Any:
        """``metric.labels(*labels)``, kept: prometheus-client returns the same child for the
        same labels every time, after validating and locking (several µs per request)."""
        key = (metric._name, labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def render(self) -> tuple[bytes, str]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry: Any = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
