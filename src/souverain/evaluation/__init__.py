"""souverain bench: measure backends on a use case's own tasks (quality, speed, energy, cost).

    suite.py     task suites (JSONL items + YAML header), loading and validation
    scorers.py   scorer registry; robust to malformed model output
    stats.py     per-backend statistics, bootstrap intervals, Pareto fronts
    report.py    results.json, printed table, PNG chart; report_html.py: self-contained page
    advise.py    recommended backend order per use case; writing it into a config copy

Names are re-exported lazily, so importing the package costs nothing until one is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Suite": "suite",
    "SuiteItem": "suite",
    "SuiteError": "suite",
    "load_suite": "suite",
    "builtin_suites": "suite",
    "score": "suite",
    "ItemScore": "scorers",
    "SCORERS": "scorers",
    "extract_json_object": "scorers",
    "BackendStats": "stats",
    "summarize": "stats",
    "bootstrap_ci": "stats",
    "pareto_front": "stats",
    "pareto_fronts": "stats",
    "build_results": "report",
    "write_results": "report",
    "load_results": "report",
    "print_table": "report",
    "write_chart": "report",
    "render_html": "report_html",
    "Advice": "advise",
    "Decision": "advise",
    "advise": "advise",
    "latest_stats": "advise",
    "write_backends_order": "advise",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'souverain.evaluation' has no attribute {name!r}")
    return getattr(import_module(f"souverain.evaluation.{module}"), name)
