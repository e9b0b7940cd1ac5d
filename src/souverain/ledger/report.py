"""Aggregate ledger rows for ``souverain report``: usage, refusals, cost, energy, carbon, latency
and the sovereignty shares.

Sovereignty shares are over the requests that reached a backend (``served``/``pseudonymized``
decisions): on a self-hosted backend, under an EU operator jurisdiction, on open weights.
``personal_data_left`` counts requests in which personal data was detected and that were sent to
a backend that is not self-hosted anyway (pseudonymised or allowed by policy).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from souverain.jurisdictions import EU

GROUPS = {
    "use-case": "use_case",
    "backend": "backend",
    "key": "api_key_name",
    "day": "day",
    "hour": "hour",
}
#: Detected data types that are personal data (GDPR art. 4(1)); secrets and markers are not.
PERSONAL_TYPES = frozenset(
    {"email", "phone", "ip_address", "iban", "payment_card", "mrz", "national_id", "person_name"}
)
_SENT = ("served", "pseudonymized")


@dataclass(slots=True)
class Summary:
    group: str
    requests: int = 0
    served: int = 0
    refused: int = 0
    failed: int = 0
    interrupted: int = 0
    refusals_by_reason: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_eur: float = 0.0
    energy_wh: float = 0.0
    energy_wh_low: float = 0.0
    energy_wh_high: float = 0.0
    energy_methods: Counter[str] = field(default_factory=Counter)
    carbon_g: float = 0.0
    #: completed requests whose carbon is unknown (no grid intensity for where they ran)
    carbon_unknown: int = 0
    sent: int = 0
    self_hosted: int = 0
    eu_jurisdiction: int = 0
    open_weights: int = 0
    personal_data_left: int = 0
    durations: list[float] = field(default_factory=list)
    #: backend attempts: one per row; more than requests when a request fell back
    attempts: int = 0
    #: request ids in this group whose last attempt so far failed (a fallback may follow)
    _failed_attempts: set[str] = field(default_factory=set)

    def add(self, row: dict[str, Any]) -> None:
        self.attempts += 1
        status = row["status"]
        base, attempt = split_attempt(str(row.get("request_id") or ""))
        if attempt > 1 and base in self._failed_attempts:
            # the fallback of a request already counted here: one request, not two; its earlier
            # attempt's tokens, cost and energy stay counted (they were spent)
            self._failed_attempts.discard(base)
            self.failed -= 1
        else:
            self.requests += 1
        if status == "failed":
            self._failed_attempts.add(base)
        if status == "refused":
            self.refused += 1
            # by code (sensitive_data_blocked, no_compliant_backend, ...): messages vary per request
            self.refusals_by_reason[
                row.get("error_code") or row.get("reason") or "unspecified"
            ] += 1
        elif status == "failed":
            self.failed += 1
        elif status == "interrupted":
            self.interrupted += 1
        elif status == "completed":
            self.served += 1
        self.prompt_tokens += row.get("prompt_tokens") or 0
        self.completion_tokens += row.get("completion_tokens") or 0
        self.cost_eur += row.get("cost_eur") or 0.0
        for name in ("energy_wh", "energy_wh_low", "energy_wh_high", "carbon_g"):
            setattr(self, name, getattr(self, name) + (row.get(name) or 0.0))
        if status == "completed" and row.get("carbon_g") is None:
            self.carbon_unknown += 1
        if row.get("energy_wh") is not None or status == "completed":
            self.energy_methods[row.get("energy_method") or "unknown"] += 1
        if row.get("duration_ms") is not None and status == "completed":
            self.durations.append(float(row["duration_ms"]))
        if row.get("decision") in _SENT and status != "refused":
            self.sent += 1
            self.self_hosted += bool(row.get("self_hosted"))
            self.eu_jurisdiction += row.get("operator_jurisdiction") in EU
            self.open_weights += bool(row.get("open_weights"))
            personal = any(t in PERSONAL_TYPES for t in (row.get("data_types") or {}))
            self.personal_data_left += personal and not row.get("self_hosted")

    def as_dict(self) -> dict[str, Any]:
        """Sums at full precision (a request can cost a few µEUR: rounding would show 0)."""

        def share(n: int) -> float | None:
            return round(n / self.sent, 4) if self.sent else None

        total = sum(self.energy_methods.values())
        return {
            "group": self.group,
            "requests": self.requests,
            "attempts": self.attempts,
            "served": self.served,
            "refused": self.refused,
            "failed": self.failed,
            "interrupted": self.interrupted,
            "refusals_by_reason": dict(self.refusals_by_reason.most_common()),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_eur": self.cost_eur,
            "energy_wh": self.energy_wh,
            "energy_wh_low": self.energy_wh_low,
            "energy_wh_high": self.energy_wh_high,
            "energy_methods": {
                m: round(n / total, 4) for m, n in self.energy_methods.most_common()
            },
            # None when no row had a grid intensity: unknown is not zero
            "carbon_g": self.carbon_g
            if self.carbon_unknown < self.served or not self.served
            else None,
            "carbon_unknown_requests": self.carbon_unknown,
            "latency_p50_ms": percentile(self.durations, 50),
            "latency_p95_ms": percentile(self.durations, 95),
            "share_self_hosted": share(self.self_hosted),
            "share_eu_jurisdiction": share(self.eu_jurisdiction),
            "share_open_weights": share(self.open_weights),
            "personal_data_left": self.personal_data_left,
        }


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile; ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return round(ordered[int(rank) - 1], 3)


def _key(row: dict[str, Any], by: str | None) -> str:
    if by is None:
        return "all"
    if by in ("day", "hour"):  # UTC day (2026-03-01) or hour (2026-03-01T09)
        ts = row["ts"]
        text = ts.isoformat() if isinstance(ts, datetime) else str(ts)
        return text[:10] if by == "day" else text[:13]
    return str(row.get(GROUPS[by]) or "-")


def split_attempt(row_id: str) -> tuple[str, int]:
    """A row id's request id and attempt number: a request that fell back after an egress
    attempt writes ``<request id>`` then ``<request id>.<n>`` (request ids have no dot)."""
    base, dot, n = row_id.rpartition(".")
    if dot and n.isdigit() and base:
        return base, int(n)
    return row_id, 1


def summarize(rows: Iterable[dict[str, Any]], by: str | None = None) -> list[dict[str, Any]]:
    """One summary per group (sorted by group), then the total when grouping."""
    if by is not None and by not in GROUPS:
        raise ValueError(f"--by {by!r}: expected one of {', '.join(GROUPS)}")
    groups: dict[str, Summary] = {}
    total = Summary("total")
    for row in rows:
        if row["status"] == "pending":
            continue
        key = _key(row, by)
        groups.setdefault(key, Summary(key)).add(row)
        if by is not None:
            total.add(row)
    out = [groups[k].as_dict() for k in sorted(groups)]
    if by is not None:
        out.append(total.as_dict())
    return out
