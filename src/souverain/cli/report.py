"""``souverain report``: usage, refusals, cost, energy, carbon, latency and sovereignty shares."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from souverain.cli.common import ConfigOpt
from souverain.cli.ledger import SinceOpt, UntilOpt, open_ledger, parse_time
from souverain.cli.output import err, fail, print_fitting

_FORMATS = ("table", "json", "csv")


def _sig(value: float) -> str:
    """Three significant figures, never rounded to zero, never in exponent form."""
    import numpy as np

    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:.0f}"
    return str(
        np.format_float_positional(value, precision=3, unique=False, fractional=False, trim="-")
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _cells(s: dict[str, Any]) -> dict[str, str]:
    """One summary's figures as text, by column (one figure per line where there are several)."""
    methods = ", ".join(f"{m} {v * 100:.0f}%" for m, v in s["energy_methods"].items())
    reasons = "".join(f"\n{code} {n}" for code, n in s.get("refusals_by_reason", {}).items())
    failed = str(s.get("failed", 0))
    if s.get("interrupted"):
        failed += f"\n({s['interrupted']} interrupted)"
    carbon = "unknown" if s["carbon_g"] is None else _sig(s["carbon_g"])
    if s["carbon_g"] is not None and s["carbon_unknown_requests"]:
        carbon += f"\n({s['carbon_unknown_requests']} unknown)"
    return {
        "group": s["group"],
        "requests": str(s["requests"]),
        "served": str(s.get("served", 0)),
        "refused (by reason)": f"{s['refused']}{reasons}",
        "failed": failed,
        "tokens in/out": f"{s['prompt_tokens']}/{s['completion_tokens']}",
        "cost EUR": _sig(s["cost_eur"]),
        "energy Wh": f"{_sig(s['energy_wh'])} [{_sig(s['energy_wh_low'])}-{_sig(s['energy_wh_high'])}]"
        + (f"\n{methods}" if methods else ""),
        "carbon g": carbon,
        "p50/p95 ms": f"{s['latency_p50_ms'] or '-'}/{s['latency_p95_ms'] or '-'}",
        "self-hosted": _pct(s["share_self_hosted"]),
        "EU": _pct(s["share_eu_jurisdiction"]),
        "open": _pct(s["share_open_weights"]),
        "PD left": str(s["personal_data_left"]),
    }


def _print_table(summaries: list[dict[str, Any]], console: Console) -> None:
    """One row per group when it fits the terminal, else one stacked table per group."""
    from souverain.ledger.report import Summary

    rows = [_cells(s) for s in summaries]
    columns = list(rows[0] if rows else _cells(Summary("all").as_dict()))
    right = [c for c in columns if not c.startswith(("group", "refused"))]
    print_fitting(console, "souverain report", columns, [list(r.values()) for r in rows], right)


def _csv(summaries: list[dict[str, Any]]) -> None:
    if not summaries:
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=list(summaries[0]))
    writer.writeheader()
    for s in summaries:
        writer.writerow({k: json.dumps(v) if isinstance(v, dict) else v for k, v in s.items()})


def _chart(summaries: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [s for s in summaries if s["group"] != "total"] or summaries
    names = [s["group"] for s in groups]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, key, label in zip(
        axes,
        ("cost_eur", "energy_wh", "carbon_g"),
        ("Cost (EUR)", "Energy (Wh)", "Carbon (gCO2e)"),
        strict=True,
    ):
        ax.set_title(label)
        if all(s[key] is None for s in groups):  # unknown is not zero: say so, draw no bars
            ax.text(
                0.5,
                0.5,
                "unknown\n(no grid intensity for\nwhere these requests ran)",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        ax.bar(names, [s[key] or 0.0 for s in groups])
        ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def report_command(
    since: SinceOpt = None,
    until: UntilOpt = None,
    by: Annotated[
        str | None, typer.Option(help="Group by use-case, backend, key, day or hour (UTC).")
    ] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
    chart: Annotated[
        Path | None, typer.Option(help="Also draw cost/energy/carbon to this PNG.")
    ] = None,
    include_bench: Annotated[bool, typer.Option(help="Include bench and drill runs.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Summarise the ledger: requests, refusals by reason, tokens, cost, energy (by method),
    carbon, p50/p95 latency, and the sovereignty shares (self-hosted, EU jurisdiction, open
    weights, requests whose personal data left the premises)."""
    from souverain.ledger.report import GROUPS, summarize

    if by is not None and by not in GROUPS:
        raise typer.BadParameter(f"expected one of {', '.join(GROUPS)}", param_hint="--by")
    if format not in _FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(_FORMATS)}", param_hint="--format")
    kinds = ["request", "bench", "drill"] if include_bench else ["request"]
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    with open_ledger(config) as ledger:
        summaries = summarize(ledger.rows(since=start, until=end, kind=kinds), by)
    if format == "json":
        print(json.dumps(summaries, indent=2))
    elif format == "csv":
        _csv(summaries)
    else:
        _print_table(summaries, Console())
    if chart is not None:
        try:
            chart.parent.mkdir(parents=True, exist_ok=True)
            _chart(summaries, chart)
        except OSError as exc:
            fail(f"cannot write the chart to {chart}: {exc.strerror or exc}; choose another path")
        err.print(f"chart: {chart}")
