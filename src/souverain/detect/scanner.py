"""The :class:`Scanner`: built once (per config), then ``scan(text)`` for every request text.

Detectors read the normalised view of the text (:mod:`souverain.detect.normalise`); the
findings' offsets and ``text`` are those of the original, so that a placeholder replaces the
value as the client spelled it.
"""

from __future__ import annotations

from collections.abc import Iterable

from souverain.detect.finding import FINDING_TYPES, Finding, resolve_overlaps
from souverain.detect.normalise import View, view, warm
from souverain.detect.registry import ScannerOptions, iter_detectors


class Scanner:
    """Finds sensitive values in a text.

    ``confidential_markers``: phrases or ``re:`` regexes from the config (see
    :mod:`souverain.detect.markers`). ``names``: detect person names (the slowest detector).
    ``types``: report only these finding types. ``detectors``: run only these registered
    detectors (default: all, plug-ins included).
    """

    def __init__(
        self,
        confidential_markers: Iterable[str] = (),
        *,
        names: bool = True,
        types: Iterable[str] | None = None,
        detectors: Iterable[str] | None = None,
        extra: dict[str, object] | None = None,
    ):
        self.options = ScannerOptions(tuple(confidential_markers), names, dict(extra or {}))
        #: what builds this scanner again (in another process: :mod:`souverain.detect.offload`)
        self.spec: dict[str, object] = {
            "confidential_markers": self.options.confidential_markers,
            "names": names,
            "types": tuple(sorted(types)) if types is not None else None,
            "detectors": tuple(detectors) if detectors is not None else None,
            "extra": self.options.extra,
        }
        self.types = frozenset(types) if types is not None else None
        if self.types is not None and (unknown := self.types - set(FINDING_TYPES)):
            raise ValueError(f"unknown finding types: {sorted(unknown)}")
        self._detectors = iter_detectors(self.options, detectors)
        #: which detectors run, as another process would name them (a detector registered in
        #: code here is unknown there: :mod:`souverain.detect.offload` then scans here)
        self.detector_ids = tuple(_detector_id(d) for d in self._detectors)
        self._clean: frozenset[str] = frozenset()
        self._remembered: frozenset[str] = frozenset()
        warm()

    def remember_clean(self, words: frozenset[str]) -> None:
        """Scan each of ``words`` (strings that recur in every request, such as a wire format's
        keys) once: those without findings are answered at once afterwards. Idempotent."""
        if words <= self._remembered:
            return
        self._remembered |= words
        self._clean |= {w for w in words if not self._scan(w)}

    def scan(self, text: str) -> list[Finding]:
        """Findings sorted by start, non-overlapping (the validated, more specific one wins)."""
        if not text or text in self._clean:
            return []
        return self._scan(text)

    def _scan(self, text: str) -> list[Finding]:
        if not text:
            return []
        seen = view(text)
        found = self.scan_normalised(seen.text)
        return found if seen.text is text else _to_original(seen, found)

    def scan_normalised(self, text: str) -> list[Finding]:
        """Findings in a text that is already a normalised view (offsets into it)."""
        found: list[Finding] = []
        for detector in self._detectors:
            found.extend(detector(text))
        if self.types is not None:
            found = [f for f in found if f.type in self.types]
        return resolve_overlaps(found)


def _detector_id(detector: object) -> str:
    kind = detector if callable(detector) and hasattr(detector, "__qualname__") else type(detector)
    return f"{getattr(kind, '__module__', '?')}.{getattr(kind, '__qualname__', '?')}"


def _to_original(seen: View, found: list[Finding]) -> list[Finding]:
    """Findings of the view with the original's offsets and spelling."""
    out: list[Finding] = []
    floor = 0
    for f in found:
        start, end = seen.span(f.start, f.end)
        start = max(start, floor)  # two findings inside one expanded character: keep order
        if end <= start:
            continue
        floor = end
        text = seen.original[start:end]
        out.append(
            Finding(
                f.type,
                start,
                end,
                text,
                f.country,
                f.validator,
                f.confidence,
                None if text == f.text else f.text,
            )
        )
    return out
