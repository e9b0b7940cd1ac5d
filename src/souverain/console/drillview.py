"""The exit-drills page: per use case, the verdict of its latest drill, when it ran, what was
taken away and what would break.

The ledger is the record: every drill writes one row of kind ``drill`` whose ``reason`` holds its
verdicts (:func:`souverain.drill.run.drill_record`). The reasons and the exit backend come from
the drill's ``drill.json`` when it was written to the default place (``<data dir>/drills/``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

#: how many drills the page lists
RECENT = 10


@dataclass
class DrillRun:
    drill_id: str
    at: datetime
    removed: list[str]
    plan_only: bool
    verdicts: dict[str, str]
    #: use case -> its result in drill.json (None: drill.json not found)
    details: dict[str, dict[str, Any]] | None = None


@dataclass
class UseCaseDrill:
    use_case: str
    latest: DrillRun | None
    verdict: str | None
    breaks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    current: str | None = None
    exit: str | None = None


def drill_runs(rows: Iterable[dict[str, Any]]) -> list[DrillRun]:
    """The drills recorded in ``rows`` (ledger rows of kind ``drill``), newest first."""
    runs = []
    for row in rows:
        try:
            body = json.loads(row.get("reason") or "{}")
        except ValueError:
            continue
        if not isinstance(body, dict) or not isinstance(body.get("verdicts"), dict):
            continue
        runs.append(
            DrillRun(
                str(row["request_id"]),
                row["ts"],
                [str(r) for r in body.get("removed") or []],
                bool(body.get("plan_only")),
                {str(k): str(v) for k, v in body["verdicts"].items()},
            )
        )
    runs.sort(key=lambda r: r.at, reverse=True)
    return runs


def drill_documents(root: Path) -> dict[str, dict[str, Any]]:
    """``drill.json`` documents under ``root`` by drill id (unreadable ones are skipped)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(root.glob("*/drill.json")) if root.is_dir() else []:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and doc.get("drill_id"):
            found[str(doc["drill_id"])] = doc
    return found


def _attach(run: DrillRun, docs: dict[str, dict[str, Any]]) -> None:
    doc = docs.get(run.drill_id)
    if doc is not None:
        run.details = {
            str(u.get("use_case")): u for u in doc.get("use_cases") or [] if isinstance(u, dict)
        }


def use_case_drills(
    use_cases: list[str], runs: list[DrillRun], docs: dict[str, dict[str, Any]]
) -> tuple[list[UseCaseDrill], list[DrillRun]]:
    """Each use case's latest drill, and the most recent drills."""
    for run in runs[:RECENT]:
        _attach(run, docs)
    out = []
    for name in use_cases:
        latest = next((r for r in runs if name in r.verdicts), None)
        view = UseCaseDrill(name, latest, latest.verdicts[name] if latest else None)
        if latest is not None:
            if latest.details is None:
                _attach(latest, docs)
            detail = (latest.details or {}).get(name)
            if detail is not None:
                view.breaks = [str(r) for r in detail.get("reasons") or []]
                view.notes = [str(n) for n in detail.get("notes") or []]
                view.current = (detail.get("current") or {}).get("name")
                view.exit = (detail.get("exit") or {}).get("name")
        out.append(view)
    return out, runs[:RECENT]
