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
from re import _constants, _parser  # type: ignore[attr-defined]

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


def literal_prefix(pattern: str) -> str:
    """The ASCII letters and digits every match of ``pattern`` begins with (after leading
    assertions such as ``\\b``), lower case; "" when there is none to rely on."""
    try:
        items = list(_parser.parse(pattern))
    except re.error:
        return ""
    out: list[str] = []
    for op, arg in items:
        if op is _constants.AT:
            if out:
                break
            continue
        if op is _constants.LITERAL and chr(arg).isascii() and chr(arg).isalnum():
            out.append(chr(arg).lower())
            continue
        break
    return "".join(out)


class MarkerDetector:
    def __init__(self, markers: Iterable[str]):
        markers = [m for m in markers if m.strip()]
        phrases = [m for m in markers if not m.startswith("re:")]
        regexes = [m for m in markers if m.startswith("re:")]
        self.regexes = compile_markers(regexes)
        # a regex marker runs only when its literal start is in the text (a case-insensitive
        # regex pass over every text is the slow part otherwise); None: always run
        prefixes = [literal_prefix(m[3:]) for m in regexes]
        self.regex_prefixes = tuple(prefixes) if all(len(p) >= 2 for p in prefixes) else None
        self.phrases = compile_markers(phrases)
        # plain phrases: a cheap substring test on their first word skips most regex passes
        self.first_words = tuple({p.split()[0].lower() for p in phrases})

    def __call__(self, text: str) -> Iterator[Finding]:
        if self.phrases is not None:
            lowered = text.lower()
            if any(w in lowered for w in self.first_words):
                yield from self._run(self.phrases, text)
        if self.regexes is not None:
            if self.regex_prefixes is not None:
                # full case folding finds at least what the case-insensitive regex would
                folded = text.casefold()
                if not any(p in folded for p in self.regex_prefixes):
                    return
            yield from self._run(self.regexes, text)

    @staticmethod
    def _run(pattern: re.Pattern[str], text: str) -> Iterator[Finding]:
        for m in pattern.finditer(text):
            if m.end() > m.start():
                yield Finding(
                    "confidential_marker", m.start(), m.end(), m.group(), None, None, PATTERN
                )
