"""What a detector is, and what its factory may read when a scanner is built."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeAlias

from souverain.detect.finding import Finding


@dataclass(frozen=True)
class ScannerOptions:
    """What a detector factory may read when the scanner is built."""

    confidential_markers: tuple[str, ...] = ()
    names: bool = True
    extra: dict[str, object] = field(default_factory=dict)


Detector: TypeAlias = Callable[[str], Iterable[Finding]]
DetectorFactory: TypeAlias = Callable[[ScannerOptions], Detector | None]
