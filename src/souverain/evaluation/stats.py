"""Per-backend statistics of a bench run, and the Pareto front of quality against a cost.

Input: one record per item and backend, as the runner writes them::

    {"backend", "item_id", "score", "latency_s", "ttft_s", "prompt_tokens", "completion_tokens",
     "energy_wh", "energy_wh_low", "energy_wh_high", "energy_method", "cost_eur", "cost_method",
     "error"}

Every item counts for quality (a failed item scores 0); speed, tokens, energy and cost come from
the items that completed (``error`` empty). A quantity nobody measured stays ``None``, never 0.
Formulas: docs/bench.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0

# the comparison axes: objective/metric name -> (BackendStats attribute, unit)
METRICS: dict[str, tuple[str, str]] = {
    "speed": ("latency_p50_s", "s per item (p50)"),
    "energy": ("j_per_item", "J per item"),
    "cost": ("eur_per_1000_items", "EUR per 1,000 items"),
}


@dataclass
class BackendStats:
    backend: str
    items: int
    errors: int
    quality_mean: float | None
    quality_ci_low: float | None
    quality_ci_high: float | None
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None
    ttft_p50_s: float | None = None
    tokens_per_s: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    energy_wh: float | None = None
    energy_wh_low: float | None = None
    energy_wh_high: float | None = None
    j_per_token: float | None = None
    j_per_item: float | None = None
    j_per_item_low: float | None = None
    j_per_item_high: float | None = None
    cost_eur: float | None = None
    eur_per_1000_items: float | None = None
    energy_methods: list[str] = field(default_factory=list)
    cost_methods: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BackendStats:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def metric(self, name: str) -> float | None:
        """The value of a comparison metric (``speed``/``energy``/``cost``) or ``quality``."""
        if name == "quality":
            return self.quality_mean
        value = getattr(self, METRICS[name][0])
        return None if value is None else float(value)


def bootstrap_ci(
    scores: Iterable[float],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    level: float = 0.95,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean (seeded: the same scores give the same interval)."""
    data = np.asarray(list(scores), dtype=float)
    if data.size == 0:
        return None
    if data.size == 1 or np.all(data == data[0]):
        return float(data[0]), float(data[0])
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def _values(records: list[Mapping[str, Any]], key: str) -> list[float]:
    return [float(r[key]) for r in records if r.get(key) is not None]


def _sum_or_none(records: list[Mapping[str, Any]], key: str) -> float | None:
    values = _values(records, key)
    # a partial sum would understate: only report a total when every completed item has a value
    return float(sum(values)) if values and len(values) == len(records) else None


def backend_stats(backend: str, records: list[Mapping[str, Any]]) -> BackendStats:
    scores = [float(r.get("score") or 0.0) for r in records]
    done = [r for r in records if not r.get("error")]
    ci = bootstrap_ci(scores)
    stats = BackendStats(
        backend=backend,
        items=len(records),
        errors=len(records) - len(done),
        quality_mean=float(np.mean(scores)) if scores else None,
        quality_ci_low=ci[0] if ci else None,
        quality_ci_high=ci[1] if ci else None,
        prompt_tokens=int(sum(_values(done, "prompt_tokens"))),
        completion_tokens=int(sum(_values(done, "completion_tokens"))),
        energy_methods=sorted({str(r["energy_method"]) for r in done if r.get("energy_method")}),
        cost_methods=sorted({str(r["cost_method"]) for r in done if r.get("cost_method")}),
    )
    latencies = _values(done, "latency_s")
    if latencies:
        stats.latency_p50_s = float(np.percentile(latencies, 50))
        stats.latency_p95_s = float(np.percentile(latencies, 95))
        if sum(latencies) > 0 and stats.completion_tokens:
            stats.tokens_per_s = stats.completion_tokens / sum(latencies)
    ttfts = _values(done, "ttft_s")
    if ttfts:
        stats.ttft_p50_s = float(np.percentile(ttfts, 50))
    if done:
        stats.energy_wh = _sum_or_none(done, "energy_wh")
        stats.energy_wh_low = _sum_or_none(done, "energy_wh_low")
        stats.energy_wh_high = _sum_or_none(done, "energy_wh_high")
        for total, attr in (
            (stats.energy_wh, "j_per_item"),
            (stats.energy_wh_low, "j_per_item_low"),
            (stats.energy_wh_high, "j_per_item_high"),
        ):
            if total is not None:
                setattr(stats, attr, total * 3600 / len(done))
        if stats.energy_wh is not None and stats.completion_tokens:
            stats.j_per_token = stats.energy_wh * 3600 / stats.completion_tokens
        stats.cost_eur = _sum_or_none(done, "cost_eur")
        if stats.cost_eur is not None:
            stats.eur_per_1000_items = stats.cost_eur / len(done) * 1000
    return stats


def summarize(records: Iterable[Mapping[str, Any]]) -> dict[str, BackendStats]:
    """Statistics per backend, in the order backends first appear in ``records``."""
    by_backend: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        by_backend.setdefault(str(record["backend"]), []).append(record)
    return {name: backend_stats(name, recs) for name, recs in by_backend.items()}


def pareto_front(points: Mapping[str, tuple[float | None, float | None]]) -> list[str]:
    """Names on the front of maximal quality and minimal cost: ``{name: (quality, cost)}``.

    A point is on the front when no other point is at least as good on both axes and strictly
    better on one. Points missing either value are left out. Returned by increasing cost.
    """
    known = {k: (q, c) for k, (q, c) in points.items() if q is not None and c is not None}
    front = []
    for name, (q, c) in known.items():
        dominated = any(
            q2 >= q and c2 <= c and (q2 > q or c2 < c)
            for other, (q2, c2) in known.items()
            if other != name
        )
        if not dominated:
            front.append(name)
    return sorted(front, key=lambda n: (known[n][1], -known[n][0], n))


def pareto_fronts(stats: Mapping[str, BackendStats]) -> dict[str, list[str]]:
    """The front for each comparison metric (``speed``, ``energy``, ``cost``)."""
    return {
        metric: pareto_front({n: (s.quality_mean, s.metric(metric)) for n, s in stats.items()})
        for metric in METRICS
    }
