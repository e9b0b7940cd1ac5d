"""What an exit drill takes away: backends by name, operators, jurisdictions.

A :class:`Removal` is given to :func:`souverain.policy.placement.place` as its ``removed`` hook,
so a removed backend disappears before policy, capability and data rules run — exactly as if it
no longer existed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from souverain.backends.base import BackendMetadata
from souverain.jurisdictions import GROUPS, expand, normalise_code


@dataclass(frozen=True)
class Removal:
    """Backends (exact names), operators (case-insensitive) and operator jurisdictions (country
    codes or the groups EU/EEA) to take away. Combined: a backend matching any one is removed."""

    backends: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()
    jurisdictions: tuple[str, ...] = ()
    _expanded: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        codes = tuple(normalise_code(c) for c in self.jurisdictions)  # ValueError names a bad code
        object.__setattr__(self, "jurisdictions", codes)
        object.__setattr__(self, "_expanded", expand(list(codes)) or frozenset())

    def __bool__(self) -> bool:
        return bool(self.backends or self.operators or self.jurisdictions)

    def __call__(self, meta: BackendMetadata) -> str | None:
        """The reason ``meta``'s backend is removed, or None."""
        if meta.name in self.backends:
            return f"removed: backend {meta.name!r}"
        for op in self.operators:
            if meta.operator.casefold() == op.casefold():
                return f"removed: operator {meta.operator!r}"
        if meta.operator_jurisdiction in self._expanded:
            group = next(
                (
                    c
                    for c in self.jurisdictions
                    if c in GROUPS and meta.operator_jurisdiction in GROUPS[c]
                ),
                None,
            )
            where = (
                f"{meta.operator_jurisdiction} ({group})" if group else meta.operator_jurisdiction
            )
            return f"removed: operator jurisdiction {where}"
        return None

    def describe(self) -> list[str]:
        """One line per removal, for reports: ``backend 'x'``, ``operator 'Mistral AI'``, ..."""
        return (
            [f"backend {b!r}" for b in self.backends]
            + [f"operator {o!r}" for o in self.operators]
            + [f"operator jurisdiction {j}" for j in self.jurisdictions]
        )

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "backends": list(self.backends),
            "operators": list(self.operators),
            "jurisdictions": list(self.jurisdictions),
        }
