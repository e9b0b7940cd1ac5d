"""The overview page's figures: what ``souverain report`` computes, for the page's period.

Nothing is computed here that the report does not compute: the rows of the period go through
:func:`souverain.ledger.report.summarize` (once for the total, once per use case, once per hour
or day for the charts), and the headline figures are read from its result by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from souverain.console.period import Period
from souverain.ledger.report import summarize

#: the page's headline figures: ``data-metric`` name -> the report's JSON field. "On-prem" is
#: the report's self-hosted share (the backend's ``self_hosted: true``).
HEADLINE: dict[str, str] = {
    "requests": "requests",
    "share_on_prem": "share_self_hosted",
    "share_eu_jurisdiction": "share_eu_jurisdiction",
    "share_open_weights": "share_open_weights",
    "cost_eur": "cost_eur",
    "energy_wh": "energy_wh",
    "carbon_g": "carbon_g",
}
#: the kinds of rows the overview counts: client requests, as ``souverain report`` by default
KINDS = ["request"]
#: periods up to this long are charted per hour, longer ones per day
HOURLY_UP_TO = timedelta(hours=72)
MAX_BUCKETS = 1000


@dataclass(frozen=True, slots=True)
class Figure:
    metric: str
    label: str
    value: float | int | None  # the report's number, unrounded further; None: unknown / none

    @property
    def raw(self) -> str:
        """``data-value``: the number as the report's JSON writes it ('' for null)."""
        return "" if self.value is None else repr(self.value)


@dataclass
class Overview:
    period: Period
    total: dict[str, Any]
    figures: list[Figure]
    per_use_case: list[dict[str, Any]]
    bucket: str  # "hour" or "day"
    timeline: list[dict[str, Any]] = field(default_factory=list)


_LABELS = {
    "requests": "Requests",
    "share_on_prem": "On-prem (self-hosted)",
    "share_eu_jurisdiction": "EU jurisdiction",
    "share_open_weights": "Open weights",
    "cost_eur": "Cost (EUR)",
    "energy_wh": "Energy (Wh)",
    "carbon_g": "Carbon (gCO2e)",
}


def _bucket_keys(start: datetime, end: datetime, bucket: str) -> list[str]:
    step = timedelta(hours=1) if bucket == "hour" else timedelta(days=1)
    width = 13 if bucket == "hour" else 10
    t = start.replace(minute=0, second=0, microsecond=0)
    if bucket == "day":
        t = t.replace(hour=0)
    keys: list[str] = []
    while t <= end and len(keys) < MAX_BUCKETS:
        keys.append(t.isoformat()[:width])
        t += step
    return keys


def build_overview(rows: list[dict[str, Any]], period: Period) -> Overview:
    """The overview of ``rows`` (the period's rows of :data:`KINDS`, as the ledger gives them)."""
    total = summarize(rows)
    # no row: the report prints no group; its figures for nothing are those of an empty total
    total_row = total[0] if total else summarize([], "use-case")[-1]
    figures = [Figure(m, _LABELS[m], total_row[f]) for m, f in HEADLINE.items()]
    per_use_case = [s for s in summarize(rows, "use-case") if s["group"] != "total"]
    start = period.since or (min((r["ts"] for r in rows), default=period.now))
    end = period.until - timedelta(microseconds=1) if period.until else period.now
    bucket = "hour" if end - start <= HOURLY_UP_TO else "day"
    by_bucket = {s["group"]: s for s in summarize(rows, bucket) if s["group"] != "total"}
    keys = _bucket_keys(start, end, bucket) if start <= end else []
    keys += sorted(k for k in by_bucket if k not in set(keys))  # rows outside the computed range
    timeline = [by_bucket.get(k) or {"group": k, **_zeros()} for k in sorted(set(keys))]
    return Overview(period, total_row, figures, per_use_case, bucket, timeline)


def _zeros() -> dict[str, Any]:
    return {"requests": 0, "cost_eur": 0.0, "energy_wh": 0.0, "carbon_g": None}


def overview_charts(view: Overview) -> dict[str, Any]:
    """The page's charts: requests, cost, energy and carbon per hour or day, and the energy
    method mix."""
    from souverain.console.charts import bar_chart, share_bar
    from souverain.console.fmt import num

    per = "hour" if view.bucket == "hour" else "day"

    def label(key: str) -> str:
        return key.replace("T", " ") + (":00" if view.bucket == "hour" else "")

    def series(field: str) -> list[tuple[str, float | None]]:
        return [(label(b["group"]), b.get(field)) for b in view.timeline]

    return {
        "requests": bar_chart(f"Requests per {per}", series("requests"), num),
        "cost_eur": bar_chart(f"Cost per {per} (EUR)", series("cost_eur"), num),
        "energy_wh": bar_chart(f"Energy per {per} (Wh)", series("energy_wh"), num),
        "carbon_g": bar_chart(f"Carbon per {per} (gCO2e)", series("carbon_g"), num),
        "energy_methods": share_bar(
            "Energy by how it was obtained", list(view.total["energy_methods"].items())
        ),
    }
