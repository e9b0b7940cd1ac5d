"""A drill's outputs: ``drill.json`` (everything), ``drill.md`` (for an auditor) and a Rich table."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from souverain.drill.run import DrillReport, UseCaseResult

_UNITS = {
    "latency_p50_s": ("latency p50", "s"),
    "latency_p95_s": ("latency p95", "s"),
    "eur_per_1000_requests": ("cost per 1,000 requests", "EUR"),
    "j_per_request": ("energy per request", "J"),
    "errors": ("failed or refused requests", ""),
}


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _change(check: dict[str, Any]) -> str:
    c = check["change"]
    if c is None:
        return "—"
    if check["metric"].startswith("quality"):
        if abs(c) < 0.005:
            return "0.00"
        return f"−{c:.2f}" if c > 0 else f"+{-c:.2f}"
    if check["metric"] == "errors":
        return f"{c:+.0f}"
    if c == "inf" or (isinstance(c, float) and math.isinf(c)):
        return "+∞"
    return f"{c:+.0%}"


def _tolerance(check: dict[str, Any]) -> str:
    t = check["tolerance"]
    if t is None:
        return "—"
    if check["metric"].startswith("quality"):
        return f"drop ≤ {t:.2f}"
    if check["metric"] == "errors":
        return "no more than current"
    return f"≤ +{t:.0%}"


def _metric_label(metric: str) -> str:
    if metric.startswith("quality:"):
        workload = metric.split(":", 1)[1]
        return (
            "quality (suite score)"
            if workload == "suite"
            else "quality (similarity to captured answers)"
        )
    label, unit = _UNITS.get(metric, (metric, ""))
    return f"{label} ({unit})" if unit else label


def _backend(facts: dict[str, Any] | None) -> str:
    if facts is None:
        return "none"
    hosting = "self-hosted" if facts["self_hosted"] else "remote"
    return (
        f"`{facts['name']}` ({facts['model']}) — operator {facts['operator']} "
        f"({facts['operator_jurisdiction']} law), runs in {facts['location']}, {hosting}"
    )


def verdict_text(r: UseCaseResult) -> str:
    suffix = {
        "unaffected": " (unaffected)",
        "plan": " (plan only, not replayed)",
        "replay": " (replayed)",
        "placement": "",
        "probe": " (a backend is down)",
    }[r.basis]
    return r.verdict + suffix


def write_json(report: DrillReport, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "drill.json"
    path.write_text(json.dumps(report.as_dict(), indent=2, ensure_ascii=False, default=str) + "\n")
    return path


def render_markdown(report: DrillReport) -> str:
    lines = [
        "# Exit drill" + (" (plan — dry run)" if report.plan_only else ""),
        "",
        f"- Drill: `{report.drill_id}` (ledger row, kind `drill`: "
        f"{'`' + report.ledger_row + '`' if report.ledger_row else 'not recorded — no ledger'})",
        f"- Date (UTC): {report.started_at:%Y-%m-%d %H:%M:%S}"
        + (f" – {report.finished_at:%H:%M:%S}" if report.finished_at else ""),
        f"- Configuration hash: `{report.config_hash}`",
        "- Removed: " + "; ".join(report.removal.describe()),
        "",
        "| use case | verdict | current backend | exit backend |",
        "|---|---|---|---|",
    ]
    for r in report.results:
        cur = r.current["name"] if r.current else "none"
        ex = r.exit["name"] if r.exit else "none"
        lines.append(f"| {r.use_case} | **{verdict_text(r)}** | {cur} | {ex} |")
    for r in report.results:
        lines += ["", f"## {r.use_case}: {verdict_text(r)}", ""]
        lines.append(f"- Current: {_backend(r.current)}")
        lines.append(f"- Exit: {_backend(r.exit)}")
        if r.exit_excluded:
            lines.append("- Not eligible after the removal: " + "; ".join(r.exit_excluded))
        for reason in r.reasons:
            lines.append(
                f"- **{'Outside tolerance' if r.verdict == 'degraded' else 'Why'}:** {reason}"
            )
        if r.probes:
            lines.append(
                "- Probed: "
                + "; ".join(
                    f"{n} {'answered' if p['ok'] else '**down**'} ({p['detail']}, {p['seconds']:.2g} s)"
                    for n, p in r.probes.items()
                )
            )
        lines += ["", _needs_line(r), ""]
        lines += [
            "| capability | used by the traffic | offered by the exit backend |",
            "|---|---|---|",
        ]
        for c in r.capabilities:
            if c["capability"] == "context_tokens":
                used = f"up to ~{c['used']} tokens" if c["used"] else "—"
                off = f"{c['offered']} tokens" if c["offered"] else "not declared"
                if c["offered"] and c["used"] > c["offered"]:
                    off = f"**{c['offered']} tokens — too small**"
            else:
                used = "yes" if c["used"] else "no"
                off = "—" if c["offered"] is None else ("yes" if c["offered"] else "no")
                if c["used"] and c["offered"] is False:
                    off = "**no — missing**"
            lines.append(f"| {c['capability']} | {used} | {off} |")
        if r.checks:
            w = r.workload
            parts = []
            if w.get("suite"):
                parts.append(f"suite `{w['suite']}` ({w['suite_items']} items)")
            if w.get("captured_items"):
                parts.append(f"{w['captured_items']} captured requests")
            lines += [
                "",
                "Workload: " + (" + ".join(parts) or "none") + ", each replayed on both sides.",
            ]
            served = "; ".join(
                f"{side}: " + ", ".join(f"{b}×{n}" for b, n in counts.items())
                for side, counts in r.served_by.items()
            )
            lines += [f"Served by — {served}.", ""]
            lines += [
                "| metric | current | exit | change | tolerance | within |",
                "|---|---|---|---|---|---|",
            ]
            for c in r.checks:
                ok = "yes" if c["ok"] else "**no**"
                if c["change"] is None:
                    ok = "not compared"
                lines.append(
                    f"| {_metric_label(c['metric'])} | {_num(c['current'])} | {_num(c['exit'])} "
                    f"| {_change(c)} | {_tolerance(c)} | {ok} |"
                )
        if r.notes:
            lines += ["", "Evidence and notes:", ""]
            lines += [f"- {n}" for n in r.notes]
    lines += [
        "",
        "Verdicts: `ready` — an exit exists and stays within the use case's `exit` tolerances; "
        "`degraded` — it works, outside a tolerance; `no-exit` — no compliant backend remains, or "
        "one the traffic needs is missing; `unverified` — the drill could not check it (a backend "
        "it relies on is down, or nothing to replay). Method: docs/drills.md.",
        "",
    ]
    return "\n".join(lines)


def _needs_line(r: UseCaseResult) -> str:
    n = r.needs
    if not n.get("known", True):
        return "Capability check: no ledger, traffic needs unknown."
    return (
        f"Capability check over {n.get('requests', 0)} served request(s) of the last 30 days "
        "(ledger):"
    )


def write_markdown(report: DrillReport, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "drill.md"
    path.write_text(render_markdown(report))
    return path


_STYLE = {"ready": "green", "degraded": "yellow", "no-exit": "red", "unverified": "red"}


def print_table(report: DrillReport, console: Console | None = None) -> None:
    """The verdicts as a table, then each use case's reasons below it (stacked, so that an
    80-column terminal shows every word), then what to do about an ``unverified`` one."""
    console = console or Console()
    t = Table(
        title=escape(f"Exit drill — removed: {'; '.join(report.removal.describe())}"),
        title_justify="left",
    )
    t.add_column("use case", overflow="fold")
    t.add_column("verdict", overflow="fold")
    t.add_column("current", overflow="fold")
    t.add_column("exit", overflow="fold")
    for r in report.results:
        t.add_row(
            escape(r.use_case),
            f"[{_STYLE[r.verdict]}]{verdict_text(r)}[/]",
            escape(r.current["name"]) if r.current else "-",
            escape(r.exit["name"]) if r.exit else "-",
        )
    console.print(t)
    for r in report.results:
        why = r.reasons or r.notes[-1:]
        for line in why:
            console.print(Padding(Text(f"{r.use_case}: {line}"), (0, 0, 0, 2)))
    if any(r.verdict == "unverified" for r in report.results):
        console.print(
            "unverified: start or fix the backends named (or give the use case a suite) and "
            "drill again; --plan-only gives a placement-only verdict",
            highlight=False,
        )
