"""Static policy rules: may this use case's request go to this backend at all?

These depend only on configuration (the backend's declared metadata and the use case's policy),
never on anything the client sends: a client cannot set a region tag or a jurisdiction.
"""

from __future__ import annotations

from souverain.backends.base import BackendMetadata
from souverain.config.models import Policy
from souverain.jurisdictions import expand


def static_exclusion(policy: Policy, meta: BackendMetadata) -> tuple[str, str] | None:
    """Return ``(field, reason)`` if the policy forbids this backend, else None."""
    jurisdictions = expand(policy.allowed_jurisdictions)
    if jurisdictions is not None and meta.operator_jurisdiction not in jurisdictions:
        return (
            "allowed_jurisdictions",
            f"operator {meta.operator!r} is under {meta.operator_jurisdiction} law, "
            f"not in allowed_jurisdictions {policy.allowed_jurisdictions}",
        )
    locations = expand(policy.allowed_locations)
    if locations is not None and meta.location not in locations:
        return (
            "allowed_locations",
            f"runs in {meta.location}, not in allowed_locations {policy.allowed_locations}",
        )
    if policy.require_self_hosted and not meta.self_hosted:
        return ("require_self_hosted", "not self-hosted (require_self_hosted: true)")
    if policy.require_open_weights and not meta.open_weights:
        return ("require_open_weights", "not open weights (require_open_weights: true)")
    return None
