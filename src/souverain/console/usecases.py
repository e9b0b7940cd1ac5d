"""The use-cases page: each policy in plain words, its candidates with live health, and why a
backend is left out -- from the gateway's own placement code (:func:`souverain.policy.placement.place`),
never re-derived here."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from souverain.backends.base import Health
from souverain.config.models import Policy, UseCaseConfig
from souverain.jurisdictions import EU
from souverain.policy.placement import place

HEALTH_TIMEOUT_S = 5.0

_ACTIONS = {
    "allow": "may go to any backend the policy allows",
    "keep-local": "stays on self-hosted backends; a request containing it goes to no other",
    "pseudonymize": (
        "replaced by typed placeholders before a request leaves for a backend that is not "
        "self-hosted, and restored in the answer"
    ),
    "block": "a request containing it is refused (403 sensitive_data_blocked) and goes nowhere",
}
_CATEGORIES = (
    ("personal_data", "Personal data"),
    ("secrets", "Secrets (keys, tokens)"),
    ("confidential", "Confidential text (the configured markers)"),
)


def _codes(codes: list[str]) -> str:
    named = ["EU (the 27 member states)" if c == "EU" else c for c in codes]
    return ", ".join(named)


def describe_policy(policy: Policy) -> list[str]:
    """The policy as sentences, one per rule."""
    lines = [
        f"Operators must be under the law of: {_codes(policy.allowed_jurisdictions)}."
        if policy.allowed_jurisdictions is not None
        else "Operators may be under any country's law.",
        f"The computation must run in: {_codes(policy.allowed_locations)}."
        if policy.allowed_locations is not None
        else "The computation may run in any country.",
    ]
    if policy.require_self_hosted:
        lines.append("Only self-hosted backends (machines you control).")
    if policy.require_open_weights:
        lines.append("Only models with open weights.")
    for fld, label in _CATEGORIES:
        action = getattr(policy, fld)
        lines.append(f"{label}: {_ACTIONS[action]} ({fld}: {action}).")
    return lines


def describe_routing(uc: UseCaseConfig) -> str:
    if uc.objective is None:
        return "Candidates are tried in the configured order."
    floor = (
        f"; quality floor {uc.quality_floor:g} (below it: {uc.on_below_floor})"
        if uc.quality_floor is not None
        else ""
    )
    return f"Candidates are ordered by {uc.objective} from the latest bench results{floor}."


@dataclass
class CandidateView:
    name: str
    facts: dict[str, Any]
    health: Health | None
    #: 1-based position among the compliant candidates; None when excluded
    rank: int | None
    excluded: str | None = None
    conditions: list[str] = field(default_factory=list)


@dataclass
class UseCaseView:
    name: str
    description: str
    policy: list[str]
    routing: str
    candidates: list[CandidateView]
    budget: str | None
    serving_now: str | None


async def live_health(backends: Mapping[str, Any]) -> dict[str, Health]:
    """Every backend's health, checked now (as ``/readyz`` does), each within a time limit."""

    async def one(backend: Any) -> Health:
        try:
            return await asyncio.wait_for(backend.health(), HEALTH_TIMEOUT_S)
        except TimeoutError:
            return Health(False, f"no answer to the health check within {HEALTH_TIMEOUT_S:g} s")
        except Exception as exc:  # a health check must not break the page
            return Health(False, f"health check failed ({type(exc).__name__})")

    names = list(backends)
    found = await asyncio.gather(*(one(backends[n]) for n in names))
    return dict(zip(names, found, strict=True))


def _facts(backend: Any) -> dict[str, Any]:
    m = backend.metadata
    return {
        "operator": m.operator,
        "jurisdiction": m.operator_jurisdiction,
        "eu": m.operator_jurisdiction in EU,
        "location": m.location,
        "self_hosted": m.self_hosted,
        "open_weights": m.open_weights,
        "model": m.model,
        "type": m.type,
    }


def use_case_views(
    use_cases: list[UseCaseConfig], backends: Mapping[str, Any], health: Mapping[str, Health]
) -> list[UseCaseView]:
    views = []
    for uc in use_cases:
        placement = place(uc, backends, check_health=False)
        why = {e.backend: e.reason for e in placement.excluded}
        order = [c.backend.name for c in placement.candidates]
        keep_local = [
            label.split(" (")[0].lower()
            for fld, label in _CATEGORIES
            if getattr(uc.policy, fld) == "keep-local"
        ]
        candidates = []
        for name in uc.backends:
            backend = backends.get(name)
            view = CandidateView(
                name,
                _facts(backend) if backend is not None else {},
                health.get(name),
                order.index(name) + 1 if name in order else None,
                why.get(name),
            )
            if view.rank is not None and not view.facts["self_hosted"] and keep_local:
                view.conditions.append(
                    "excluded for requests containing "
                    + " or ".join(keep_local)
                    + " (keep-local: it is not self-hosted)"
                )
            if view.rank is not None and view.health is not None and not view.health.ok:
                view.excluded = f"unhealthy now: {view.health.detail}"
            candidates.append(view)
        serving = next((c.name for c in candidates if c.rank is not None and not c.excluded), None)
        budget = None
        if uc.budget is not None:
            parts = [
                f"{v:g} EUR per {p}"
                for p, v in (("day", uc.budget.eur_per_day), ("month", uc.budget.eur_per_month))
                if v is not None
            ]
            budget = ", ".join(parts) or None
        views.append(
            UseCaseView(
                uc.name,
                uc.description,
                describe_policy(uc.policy),
                describe_routing(uc),
                candidates,
                budget,
                serving,
            )
        )
    return views
