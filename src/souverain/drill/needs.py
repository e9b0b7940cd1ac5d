"""Which API capabilities a use case's traffic actually used, read from the ledger.

Over the use case's production rows (``kind = "request"``, status ``completed``) of the last
:data:`NEEDS_WINDOW_DAYS` days: did any request stream, use tools, use JSON mode
(``response_format``), and what was the largest context (``context_tokens``) seen. An exit backend
must offer each of them; refused or failed requests do not count (they were not served, so no
client depends on them working).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from souverain.backends.base import Capabilities
from souverain.ledger.record import utcnow
from souverain.policy.placement import Needs

NEEDS_WINDOW_DAYS = 30


@dataclass(frozen=True)
class ObservedNeeds:
    """The union of the capabilities ``requests`` served requests used."""

    requests: int = 0
    stream: bool = False
    tools: bool = False
    json_mode: bool = False
    context_tokens: int = 0
    #: None: the ledger could not be read (disabled), so nothing is known about the traffic
    known: bool = True

    def needs(self) -> Needs:
        return Needs(self.stream, self.tools, self.json_mode, self.context_tokens)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def needs_from_rows(use_case: str, rows: Iterable[Mapping[str, Any]]) -> ObservedNeeds:
    n, stream, tools, json_mode, ctx = 0, False, False, False, 0
    for row in rows:
        if row.get("use_case") != use_case or row.get("kind", "request") != "request":
            continue
        if row.get("status", "completed") != "completed":
            continue
        n += 1
        stream = stream or bool(row.get("stream"))
        tools = tools or bool(row.get("used_tools"))
        json_mode = json_mode or bool(row.get("used_json_mode"))
        ctx = max(ctx, int(row.get("context_tokens") or row.get("prompt_tokens") or 0))
    return ObservedNeeds(n, stream, tools, json_mode, ctx)


def observed_needs(
    ledger: Any, use_cases: list[str], *, now: datetime | None = None
) -> dict[str, ObservedNeeds]:
    """Per use case, the needs seen in the ledger (one pass over the window's request rows)."""
    if ledger is None:
        return {uc: ObservedNeeds(known=False) for uc in use_cases}
    since = (now or utcnow()) - timedelta(days=NEEDS_WINDOW_DAYS)
    rows = list(ledger.rows(since=since, kind="request", statuses=("completed",)))
    return {uc: needs_from_rows(uc, rows) for uc in use_cases}


def capability_rows(needs: ObservedNeeds, caps: Capabilities | None) -> list[dict[str, Any]]:
    """One row per capability: used by the traffic? offered by ``caps`` (the exit backend)?"""
    offered = caps or Capabilities(streaming=False)
    rows = [
        ("streaming", needs.stream, offered.streaming if caps else None),
        ("tools", needs.tools, offered.tools if caps else None),
        ("json_mode", needs.json_mode, offered.json_mode if caps else None),
    ]
    out: list[dict[str, Any]] = [
        {"capability": c, "used": used, "offered": off} for c, used, off in rows
    ]
    limit = offered.context_length if caps else None
    out.append(
        {
            "capability": "context_tokens",
            "used": needs.context_tokens,
            "offered": limit,  # None: not declared (not checked)
        }
    )
    return out
