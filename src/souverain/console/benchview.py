"""The bench & advisor page: the latest results per backend per use case, the advisor's order
under the chosen metric, and the "flip the metric" chart (quality against speed, energy or cost).

Everything comes from :mod:`souverain.evaluation`: the results files ``souverain bench`` wrote,
:func:`~souverain.evaluation.advise.advise_use_case` for the order and its reasons, and
:func:`~souverain.evaluation.stats.pareto_fronts` for the front.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from souverain.config.models import UseCaseConfig
from souverain.console.charts import Point, scatter
from souverain.evaluation.advise import MIN_ITEMS, Advice, advise_use_case, latest_stats
from souverain.evaluation.stats import METRICS, BackendStats, pareto_fronts

DEFAULT_METRIC = "cost"
METRIC_LABELS = {"speed": "Speed", "energy": "Energy", "cost": "Cost"}


@dataclass
class BenchView:
    use_case: str
    suite: str | None
    objective: str | None
    advice: Advice
    stats: dict[str, dict[str, Any]]
    front: list[str]
    chart: Markup | None
    results_at: str | None
    notes: list[str] = field(default_factory=list)


def read_metric(value: str | None) -> str:
    return value if value in METRICS else DEFAULT_METRIC


def bench_views(
    use_cases: list[UseCaseConfig],
    backends: Mapping[str, Any],
    docs: list[tuple[Path, dict[str, Any]]],
    metric: str,
    min_items: int = MIN_ITEMS,
) -> list[BenchView]:
    unit = METRICS[metric][1]
    views = []
    for uc in use_cases:
        stats = latest_stats("", uc.name, docs=docs)
        advice = advise_use_case(uc, backends, docs, objective=metric, min_items=min_items)
        parsed = {n: BackendStats.from_dict(s) for n, s in stats.items()}
        front = pareto_fronts(parsed).get(metric, []) if parsed else []
        points = [
            Point(n, x, s.quality_mean, (s.quality_ci_low, s.quality_ci_high))
            for n, s in parsed.items()
            if (x := s.metric(metric)) is not None and s.quality_mean is not None
        ]
        notes = [
            f"{n}: {unit} not measured, not on the chart"
            for n, s in parsed.items()
            if s.metric(metric) is None
        ]
        chart = (
            scatter(f"{uc.name}: quality against {unit}", points, unit, front) if stats else None
        )
        suites = sorted({str(s.get("suite")) for s in stats.values() if s.get("suite")})
        views.append(
            BenchView(
                uc.name,
                ", ".join(suites) or uc.suite,
                uc.objective,
                advice,
                stats,
                list(front),
                chart,
                max((str(s.get("results_at")) for s in stats.values()), default=None),
                notes,
            )
        )
    return views


__all__ = ["DEFAULT_METRIC", "METRICS", "METRIC_LABELS", "BenchView", "bench_views", "read_metric"]
