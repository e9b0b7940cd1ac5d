"""Compare a workload replayed on the current and the exit placement, against the use case's
``exit`` tolerances; pure (no I/O).

Metrics (per side, over every replayed request of the workload):

* **quality** — per workload: the suite scorer's mean (a failed or refused item scores 0), and for
  captured traffic the mean :func:`similarity` of each answer to the answer captured in
  production. A *drop* is absolute, on the 0–1 scale: ``current - exit``.
* **latency** p50 and p95 (seconds, completed requests), **cost** per 1,000 requests (EUR) and
  **energy** per request (J) — as the bench computes them (:func:`souverain.evaluation.stats.summarize`).
  An *increase* is relative: ``(exit - current) / current`` (0.5 = +50 %); from 0 to more is an
  infinite increase.

A metric unknown on either side (e.g. energy of a remote API without declared parameters) is not a
violation: it is reported as not compared. More failed requests on the exit side than on the
current one is a violation of its own (``errors``).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from souverain.config.models import ExitTolerances
from souverain.evaluation.stats import BackendStats, summarize

SIDES = ("current", "exit")


def similarity(a: str | None, b: str | None) -> float:
    """Word-level similarity of two answers in [0, 1]: :class:`difflib.SequenceMatcher`'s ratio
    over the lower-cased whitespace-separated words (1.0: the same words in the same order)."""
    wa, wb = (a or "").lower().split(), (b or "").lower().split()
    if not wa and not wb:
        return 1.0
    return difflib.SequenceMatcher(None, wa, wb, autojunk=False).ratio()


@dataclass
class Check:
    metric: str
    current: float | None
    exit: float | None
    #: absolute drop (quality) or relative increase (others); None when not compared
    change: float | None
    tolerance: float | None
    ok: bool
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if out["change"] is not None and math.isinf(out["change"]):
            out["change"] = "inf"  # JSON has no infinity
        return out


def relative_increase(current: float, exit_: float) -> float:
    if current > 0:
        return (exit_ - current) / current
    return 0.0 if exit_ <= current else math.inf


def side_stats(records: Sequence[Mapping[str, Any]]) -> dict[str, BackendStats]:
    """Bench statistics per side (``current``/``exit``) over all the workload's requests."""
    return summarize({**r, "backend": r["side"]} for r in records)


def quality_by_workload(records: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """``{workload: {side: mean score}}`` (suite: scorer; capture: similarity to the capture)."""
    sums: dict[str, dict[str, list[float]]] = {}
    for r in records:
        sums.setdefault(r["workload"], {}).setdefault(r["side"], []).append(
            float(r.get("score") or 0.0)
        )
    return {w: {s: sum(v) / len(v) for s, v in sides.items()} for w, sides in sums.items()}


_SCALARS: tuple[tuple[str, str, str], ...] = (
    ("latency_p50_s", "latency_p50_s", "max_latency_increase"),
    ("latency_p95_s", "latency_p95_s", "max_latency_increase"),
    ("eur_per_1000_requests", "eur_per_1000_items", "max_cost_increase"),
    ("j_per_request", "j_per_item", "max_energy_increase"),
)


def compare(records: Sequence[Mapping[str, Any]], tolerances: ExitTolerances) -> list[Check]:
    """Every check, in a fixed order: quality per workload, errors, latency, cost, energy."""
    checks: list[Check] = []
    for workload, sides in sorted(quality_by_workload(records).items()):
        cur, ex = sides.get("current"), sides.get("exit")
        name = f"quality:{workload}"
        if cur is None or ex is None:
            checks.append(
                Check(name, cur, ex, None, tolerances.max_quality_drop, True, "one side missing")
            )
            continue
        drop = cur - ex
        checks.append(
            Check(
                name,
                cur,
                ex,
                drop,
                tolerances.max_quality_drop,
                drop <= tolerances.max_quality_drop + 1e-12,
            )
        )
    stats = side_stats(records)
    cur_s, ex_s = stats.get("current"), stats.get("exit")
    cur_err = cur_s.errors if cur_s else 0
    ex_err = ex_s.errors if ex_s else 0
    checks.append(
        Check(
            "errors",
            float(cur_err),
            float(ex_err),
            float(ex_err - cur_err),
            0.0,
            ex_err <= cur_err,
            f"{ex_err} of {ex_s.items if ex_s else 0} exit requests failed or were refused"
            if ex_err > cur_err
            else "",
        )
    )
    for metric, attr, tol_field in _SCALARS:
        tol = float(getattr(tolerances, tol_field))
        cur_v = getattr(cur_s, attr) if cur_s else None
        ex_v = getattr(ex_s, attr) if ex_s else None
        if cur_v is None or ex_v is None:
            missing = " and ".join(
                s for s, v in zip(SIDES, (cur_v, ex_v), strict=True) if v is None
            )
            checks.append(
                Check(
                    metric, cur_v, ex_v, None, tol, True, f"not measured on {missing}: not compared"
                )
            )
            continue
        inc = relative_increase(float(cur_v), float(ex_v))
        checks.append(Check(metric, float(cur_v), float(ex_v), inc, tol, inc <= tol + 1e-12))
    return checks


def describe_violation(check: Check) -> str:
    """``latency_p50_s +240 % (tolerance +100 %)`` / ``quality:suite -0.33 (tolerance 0.05)``."""
    if check.metric == "errors":
        return f"errors: {check.note}"
    if check.metric.startswith("quality"):
        return f"{check.metric} dropped by {check.change:.2f} (tolerance {check.tolerance:.2f})"
    change = (
        "+∞" if check.change is not None and math.isinf(check.change) else f"{check.change:+.0%}"
    )
    return f"{check.metric} {change} (tolerance +{check.tolerance:.0%})"
