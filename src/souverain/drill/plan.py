"""The placement side of a drill: where a use case is served now, and where it would be served
once the removed backends are gone — with the gateway's own :func:`place`.

Both placements are *static*: no request content and no health check (``check_health=False``):
they say what the configuration allows. Whether the backends they pick answer today is the
probes' business (:mod:`souverain.drill.probe`); a verdict resting on one that is down is
``unverified``. The traffic's capability needs (from the ledger) apply to both placements, so a
backend lacking a capability the use case uses is no exit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from souverain.config.models import UseCaseConfig
from souverain.drill.needs import ObservedNeeds, capability_rows
from souverain.drill.removal import Removal
from souverain.policy.placement import BackendLike, Placement, place


@dataclass
class UseCasePlan:
    use_case: UseCaseConfig
    needs: ObservedNeeds
    current: Placement
    exit: Placement
    #: placement after the removal without the capability needs (to tell the two no-exit causes)
    exit_any: Placement
    #: ``None`` when an exit exists; else why there is none
    no_exit: str | None = None
    affected: bool = True
    #: each candidate's probe result (filled by the drill; empty in a dry run)
    health: dict[str, bool] = field(default_factory=dict)

    @property
    def current_backend(self) -> Any:
        return self.current.candidates[0].backend if self.current.candidates else None

    @property
    def exit_backend(self) -> Any:
        return self.exit.candidates[0].backend if self.exit.candidates else None

    def capability_check(self) -> list[dict[str, Any]]:
        target = self.exit_backend or (
            self.exit_any.candidates[0].backend if self.exit_any.candidates else None
        )
        return capability_rows(self.needs, target.capabilities if target else None)


def plan_use_case(
    use_case: UseCaseConfig,
    backends: Mapping[str, BackendLike],
    removal: Removal,
    needs: ObservedNeeds,
) -> UseCasePlan:
    req = needs.needs()
    current = place(use_case, backends, needs=req, check_health=False)
    exit_any = place(use_case, backends, removed=removal, check_health=False)
    exit_ = place(use_case, backends, needs=req, removed=removal, check_health=False)
    plan = UseCasePlan(use_case, needs, current, exit_, exit_any)
    # a removed fallback matters too: requests whose data keeps them off the first candidate
    plan.affected = any(removal(c.backend.metadata) for c in current.candidates)
    if not exit_any.candidates:
        why = "; ".join(str(e) for e in exit_any.excluded) or "no candidate"
        plan.no_exit = f"no compliant backend remains ({why})"
    elif not exit_.candidates:
        gaps = "; ".join(str(e) for e in exit_.excluded if e.kind == "capability")
        plan.no_exit = f"a capability the traffic uses is missing ({gaps})"
    if not current.candidates and plan.no_exit is None:
        # nothing serves it today; the removal cannot make it worse, but say so
        plan.affected = True
    return plan
