"""Bench outputs: ``results.json``, a printed table, ``results.png`` and ``report.html``.

``results.json`` is the record of a run (schema in docs/bench.md, version :data:`SCHEMA`); the
table, chart and HTML page are all drawn from it, so :func:`print_table` and :func:`write_chart`
also work on a results file read back later.
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from souverain.evaluation.report_html import render_html
from souverain.evaluation.stats import METRICS, BackendStats, pareto_fronts, summarize
from souverain.evaluation.suite import Suite
from souverain.tables import print_fitting

SCHEMA = "souverain.bench.results/1"
RESULTS_FILE = "results.json"
CHART_FILE = "results.png"
HTML_FILE = "report.html"


def _utc_now() -> str:
    return (
        datetime.datetime.now(datetime.UTC)
        .replace(microsecond=0)
        .isoformat()
        .replace("+00:00", "Z")
    )


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def build_results(
    suite: Suite,
    use_case: str,
    records: Sequence[Mapping[str, Any]],
    excluded: Mapping[str, str],
    config_hash: str | None,
    created_at: str | None = None,
) -> dict[str, Any]:
    """The results document (what ``results.json`` holds)."""
    stats = summarize(records)
    return _json_safe(
        {
            "schema": SCHEMA,
            "created_at": created_at or _utc_now(),
            "use_case": use_case,
            "config_hash": config_hash,
            "suite": {
                "name": suite.name,
                "description": suite.description,
                "source": suite.source,
                "digest": suite.digest,
                "scorer": suite.scorer,
                "options": suite.options,
                "generation": suite.generation,
                "items": len(suite.items),
                "items_run": len({r.get("item_id") for r in records}) if records else 0,
            },
            "metrics": {name: {"field": f, "unit": unit} for name, (f, unit) in METRICS.items()},
            "backends": {name: s.to_dict() for name, s in stats.items()},
            "pareto": pareto_fronts(stats),
            "excluded": dict(excluded),
            "records": [dict(r) for r in records],
        }
    )


def write_results(
    out_dir: str | Path,
    suite: Suite,
    use_case: str,
    records: Sequence[Mapping[str, Any]],
    excluded: Mapping[str, str],
    config_hash: str | None,
) -> Path:
    """Write ``results.json``, ``results.png`` and ``report.html`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = build_results(suite, use_case, records, excluded, config_hash)
    path = out / RESULTS_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    write_chart(results, out / CHART_FILE)
    (out / HTML_FILE).write_text(render_html(results), encoding="utf-8")
    return path


def load_results(path: str | Path) -> dict[str, Any]:
    """A results document from ``results.json`` (or the folder holding it)."""
    p = Path(path)
    if p.is_dir():
        p = p / RESULTS_FILE
    data = json.loads(p.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"{p}: not a souverain bench results file (schema {SCHEMA})")
    return data


def backend_stats(results: Mapping[str, Any]) -> dict[str, BackendStats]:
    return {n: BackendStats.from_dict(d) for n, d in results.get("backends", {}).items()}


# --- table ----------------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 2, scale: float = 1.0) -> str:
    if value is None:
        return "–"
    v = value * scale
    if v != 0 and abs(v) < 10**-digits:
        return f"{v:.{digits}g}" if digits > 0 else f"{v:.1g}"
    return f"{v:.{digits}f}"


def print_table(results: Mapping[str, Any] | str | Path, console: Console | None = None) -> None:
    """Print the per-backend table of a results document (or file); methods and exclusions below."""
    data = load_results(results) if isinstance(results, str | Path) else results
    console = console or Console()
    suite = data.get("suite", {})
    stats = backend_stats(data)
    title = (
        f"bench {suite.get('name', '?')} · use case {data.get('use_case', '?')} · "
        f"{suite.get('items_run', suite.get('items', '?'))} of {suite.get('items', '?')} items · "
        f"{data.get('created_at', '')}"
    )
    columns = ["backend", "quality (95 % CI)", "err", "p50/p95 s", "tok/s", "J/tok", "J/item"]
    columns += ["EUR/1k", "front"]
    pareto = data.get("pareto", {})
    rows = []
    for name, s in stats.items():
        front = "".join(m[0] for m in METRICS if name in pareto.get(m, []))
        rows.append(
            [
                name,
                f"{_fmt(s.quality_mean, 3)} ({_fmt(s.quality_ci_low, 2)}–{_fmt(s.quality_ci_high, 2)})",
                str(s.errors),
                f"{_fmt(s.latency_p50_s)}/{_fmt(s.latency_p95_s)}",
                _fmt(s.tokens_per_s, 1),
                _fmt(s.j_per_token, 3),
                _fmt(s.j_per_item, 1),
                _fmt(s.eur_per_1000_items, 4),
                front or "–",
            ]
        )
    # the whole table when it fits, else one small table per backend: never a cut header or name
    print_fitting(console, title, columns, rows, right=columns[1:-1])
    console.print("[dim]front: on the Pareto front of quality vs (s)peed, (e)nergy, (c)ost[/]")
    for name, s in stats.items():
        methods = ", ".join(s.energy_methods + s.cost_methods) or "none"
        console.print(f"[dim]{name}: estimated by {methods}[/]")
    for name, reason in data.get("excluded", {}).items():
        console.print(f"[yellow]excluded[/] {name}: {reason}")


# --- chart -------------------------------------------------------------------------------------


def write_chart(results: Mapping[str, Any], path: str | Path) -> Path:
    """Quality against speed, energy and cost, one panel each, the Pareto front marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stats = backend_stats(results)
    pareto = results.get("pareto", {})
    fig, axes = plt.subplots(1, len(METRICS), figsize=(5 * len(METRICS), 4.2), sharey=True)
    for ax, (metric, (_, unit)) in zip(axes, METRICS.items(), strict=True):
        points: dict[str, tuple[float, float, float | None, float | None]] = {}
        for n, s in stats.items():
            x, q = s.metric(metric), s.quality_mean
            if x is not None and q is not None:
                points[n] = (x, q, s.quality_ci_low, s.quality_ci_high)
        ax.set_title(f"quality vs {metric}")
        ax.set_xlabel(unit + " (lower is better)")
        ax.set_ylim(-0.02, 1.05)
        ax.margins(x=0.15)
        ax.grid(True, alpha=0.3)
        if not points:
            ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes)
            continue
        front = [n for n in pareto.get(metric, []) if n in points]
        xs = [p[0] for p in points.values()]
        if min(xs) > 0 and max(xs) / min(xs) > 50:
            ax.set_xscale("log")
        for name, (x, q, lo, hi) in points.items():
            on_front = name in front
            yerr = (
                [[max(q - lo, 0.0)], [max(hi - q, 0.0)]]
                if lo is not None and hi is not None
                else None
            )
            ax.errorbar(
                [x], [q], yerr=yerr, fmt="o", capsize=3,
                color="#c2410c" if on_front else "#64748b", markersize=7 if on_front else 5,
            )  # fmt: skip
            ax.annotate(name, (x, q), textcoords="offset points", xytext=(6, 6), fontsize=8)
        if len(front) > 1:
            fx = [points[n][0] for n in front]
            fy = [points[n][1] for n in front]
            ax.step(fx, fy, where="post", color="#c2410c", alpha=0.6, label="Pareto front")
            ax.legend(loc="lower right", fontsize=8)
    axes[0].set_ylabel(f"quality ({results.get('suite', {}).get('scorer', '')})")
    suite = results.get("suite", {}).get("name", "")
    fig.suptitle(f"souverain bench · {suite} · use case {results.get('use_case', '')}")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
