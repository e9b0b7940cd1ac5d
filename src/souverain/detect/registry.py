"""The detector registry: every detector, built-in or plug-in, is looked up here by name.

A detector is any callable ``(text: str) -> Iterable[Finding]``. It is registered as a *factory*
``(options: ScannerOptions) -> detector`` so that it can read the confidential markers or other
options once, when the :class:`~souverain.detect.Scanner` is built.

Plug-ins (an NER model, an organisation-specific identifier) register either in code::

    from souverain.detect import register_detector
    register_detector("my_ner", lambda options: MyNerDetector())

or from an installed package through the entry point group ``souverain.detectors``::

    [project.entry-points."souverain.detectors"]
    my_ner = "my_pkg.detect:make_detector"   # a factory as above
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
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

_REGISTRY: dict[str, DetectorFactory] = {}
_plugins_loaded = False


def register_detector(name: str, factory: DetectorFactory, *, replace: bool = False) -> None:
    """Add a detector factory. A factory may return ``None`` to opt out for given options."""
    if name in _REGISTRY and not replace:
        raise ValueError(f"detector {name!r} is already registered (pass replace=True)")
    _REGISTRY[name] = factory


def unregister_detector(name: str) -> None:
    _REGISTRY.pop(name, None)


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points(group="souverain.detectors"):
        if ep.name not in _REGISTRY:
            _REGISTRY[ep.name] = ep.load()


def detector_factories() -> dict[str, DetectorFactory]:
    """The registered factories by name (built-ins first, then entry-point plug-ins)."""
    from souverain.detect import builtin  # noqa: F401  (registers the built-in detectors)

    _load_plugins()
    return dict(_REGISTRY)


def iter_detectors(options: ScannerOptions, only: Iterable[str] | None = None) -> list[Detector]:
    wanted = set(only) if only is not None else None
    out: list[Detector] = []
    for name, factory in detector_factories().items():
        if wanted is not None and name not in wanted:
            continue
        det = factory(options)
        if det is not None:
            out.append(det)
    return out
