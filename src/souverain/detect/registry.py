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

from collections.abc import Iterable

from souverain.detect.options import Detector, DetectorFactory, ScannerOptions
from souverain.plugins import Registry

__all__ = [
    "DETECTORS",
    "Detector",
    "DetectorFactory",
    "ScannerOptions",
    "detector_factories",
    "iter_detectors",
    "register_detector",
    "unregister_detector",
]

#: Every detector factory by name: the built-ins of :mod:`souverain.detect.builtin`, then the
#: ``souverain.detectors`` entry points, loaded when a scanner is first built.
DETECTORS: Registry[DetectorFactory] = Registry(
    "souverain.detectors", "souverain.detect.builtin:BUILTIN"
)


def register_detector(name: str, factory: DetectorFactory, *, replace: bool = False) -> None:
    """Add a detector factory. A factory may return ``None`` to opt out for given options."""
    DETECTORS.register(name, factory, replace=replace)


def unregister_detector(name: str) -> None:
    DETECTORS.unregister(name)


def detector_factories() -> dict[str, DetectorFactory]:
    """The registered factories by name (built-ins first, then entry-point plug-ins)."""
    return dict(DETECTORS)


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
