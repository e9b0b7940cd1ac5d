"""Confidential markers from the config (``confidential_markers``).

Syntax of one marker:

* a word or phrase, matched case-insensitively on word boundaries, with any run of whitespace
  in the text matching a space in the phrase: ``"strictement confidentiel"``, ``"Projekt Nordwind"``;
* ``re:`` followed by a Python regular expression, matched case-insensitively as written:
  ``"re:\\bPRJ-\\d{4}\\b"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from souverain.detect.finding import PATTERN, Finding


def compile_markers(markers: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for all markers (``None`` when there are none)."""
    parts: list[str] = []
    for marker in markers:
        if marker.startswith("re:"):
            pattern = marker[3:]
            re.compile(pattern)  # a bad regex fails here, naming itself
            parts.append(f"(?:{pattern})")
        elif marker.strip():
            words = [re.escape(w) for w in marker.split()]
            parts.append(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)")
    if not parts:
        return None
    return re.compile("|".join(parts), re.IGNORECASE)


class MarkerDetector:
    def __init__(self, markers: Iterable[str]):
        markers = [m for m in markers if m.strip()]
        phrases = [m for m in markers if not m.startswith("re:")]
        self.regexes = compile_markers(m for m in markers if m.startswith("re:"))
        self.phrases = compile_markers(phrases)
        # plain phrases: a cheap substring test on their first word skips most regex passes
        self.first_words = tuple({p.split()[0].lower() for p in phrases})

    def __call__(self, text: str) -> Iterator[Finding]:
        if self.phrases is not None:
            lowered = text.lower()
            if any(w in lowered for w in self.first_words):
                yield from self._run(self.phrases, text)
        if self.regexes is not None:
            yield from self._run(self.regexes, text)

    @staticmethod
    def _run(pattern: re.Pattern[str], text: str) -> Iterator[Finding]:
        for m in pattern.finditer(text):
            if m.end() > m.start():
                yield Finding(
                    "confidential_marker", m.start(), m.end(), m.group(), None, None, PATTERN
                )
