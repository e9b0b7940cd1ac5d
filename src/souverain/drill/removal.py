"""What an exit drill takes away: backends by name, operators, jurisdictions.

A :class:`Removal` is given to :func:`souverain.policy.placement.place` as its ``removed`` hook,
so a removed backend disappears before policy, capability and data rules run — exactly as if it
no longer existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from souverain.backends.base import BackendMetadata
from souverain.config.models import UseCaseConfig
from souverain.jurisdictions import GROUPS, expand, normalise_code


class DrillUsageError(ValueError):
    """A drill that cannot be run as asked (nothing to remove, a name that matches nothing):
    ``problems`` holds one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


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


def parse_removal(
    backends: Sequence[str] | None,
    operators: Sequence[str] | None,
    jurisdictions: Sequence[str] | None,
) -> Removal:
    """The removal the ``--without-*`` options ask for. Raises :class:`DrillUsageError` when
    they ask for none, or name a jurisdiction that is no country code or group."""
    if not (backends or operators or jurisdictions):
        raise DrillUsageError(
            [
                "say what to remove: --without-backend NAME, --without-operator "
                "NAME or --without-jurisdiction CC (repeatable, combinable)"
            ]
        )
    try:
        return Removal(tuple(backends or ()), tuple(operators or ()), tuple(jurisdictions or ()))
    except ValueError as exc:
        raise DrillUsageError([f"--without-jurisdiction: {exc}"]) from None


def drilled_use_cases(
    removal: Removal, cfg: Any, names: Sequence[str] | None = None
) -> list[UseCaseConfig]:
    """The use cases to drill (``names``, else all) once the removal is checked against the
    config ``cfg``. Raises :class:`DrillUsageError` for every unknown backend or use case and
    every operator or jurisdiction that matches no backend: a removal that matches nothing
    would report a drill that tested nothing."""
    backend_names = [b.name for b in cfg.backends]
    problems = [
        f"unknown backend {b!r} (valid: {', '.join(backend_names)})"
        for b in removal.backends
        if b not in backend_names
    ] + [
        f"unknown use case {u!r} (valid: {', '.join(cfg.use_case_names)})"
        for u in names or []
        if u not in cfg.use_case_names
    ]
    operators = sorted({b.operator for b in cfg.backends})
    problems += [
        f"--without-operator {o!r} matches no backend (operators: {', '.join(operators)})"
        for o in removal.operators
        if o.casefold() not in {x.casefold() for x in operators}
    ]
    laws = {b.operator_jurisdiction for b in cfg.backends}
    problems += [
        f"--without-jurisdiction {j!r} matches no backend (operator jurisdictions: "
        f"{', '.join(sorted(laws))})"
        for j in removal.jurisdictions
        if not (expand([j]) or frozenset()) & laws
    ]
    if problems:
        raise DrillUsageError(problems)
    return [uc for uc in cfg.use_cases if not names or uc.name in names]
