"""Objective routing: a use case's candidates reordered by its latest bench results.

The plans are made from bench results by :func:`souverain.evaluation.advise.routing_plans` (what
``souverain advise`` recommends); the pipeline applies a use case's plan to every placement. Without
a plan (no results, or no ``objective``) the configured order stands.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from souverain.config.models import UseCaseConfig
from souverain.policy.placement import Exclusion, Placement


@dataclass(slots=True)
class RoutingPlan:
    """The recommended backend order for one use case, and the backends below its quality floor."""

    order: list[str]
    below_floor: dict[str, str] = field(default_factory=dict)  # backend -> why

    def apply(self, placement: Placement, use_case: UseCaseConfig) -> str:
        """Reorder ``placement``'s candidates; return the note for the ledger ("" when none).

        When only candidates below the floor remain, the note says so, and with
        ``on_below_floor: refuse`` they are excluded (the request is refused)."""
        rank = {name: i for i, name in enumerate(self.order)}
        placement.candidates.sort(key=lambda c: rank.get(c.backend.name, len(rank)))
        if not placement.candidates or not all(
            c.backend.name in self.below_floor for c in placement.candidates
        ):
            return ""
        first = placement.candidates[0].backend.name
        note = f"objective routing: only candidates below the quality floor remain ({self.below_floor[first]})"
        if use_case.on_below_floor == "refuse":
            for c in placement.candidates:
                placement.excluded.append(
                    Exclusion(
                        c.backend.name,
                        "policy",
                        f"below the quality floor: {self.below_floor[c.backend.name]}",
                    )
                )
            placement.candidates = []
        return note


#: Makes the plans of a config's use cases: ``(config, backends by name) -> {use case: plan}``.
RoutingSource = Callable[[Any, Mapping[str, Any]], dict[str, RoutingPlan]]
