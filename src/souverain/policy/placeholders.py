"""The spellings of a placeholder that are restored, precisely, and nothing more.

A placeholder is generated as ``<NAME>``, ``NAME`` = ``LABEL_N``: capitals in words joined by
``_`` (``IBAN``, ``NATIONAL_ID_FR``), then ``_`` and a number. Models re-spell it; the answer's
text is restored where one of these spellings stands, **and only for a name the request's
pseudonymizer generated** (anything else is left as written):

- bracketed: ``<``/``>``, HTML-escaped ``&lt;``/``&gt;`` or JSON-escaped ``\\u003c``/``\\u003e``,
  with up to two spaces inside each bracket (``< IBAN_1 >``); inside the brackets each ``_`` may
  also be written ``-`` or a space, or have one space on either side (``<IBAN 1>``,
  ``<national-id-fr-1>``, ``<IBAN _1>``);
- bare: the name with its ``_`` (or markdown's escaped ``\\_``: ``IBAN\\_1``), standing alone:
  no letter, digit or ``_`` touches it on either side (``IBAN_1``, ``(iban_1)``; not
  ``MY_IBAN_1`` nor ``IBAN_12``). A bare name written with spaces (``IBAN 1``) is ordinary text
  and is left alone;
- in any letter case.

:func:`canonical` turns a matched spelling into the name (``IBAN_1``); :func:`could_grow` says
whether the tail of a stream may still become one (the stream restorer holds it back). Every
pattern is bounded (at most 7 words of 32 letters, 9 digits): matching is linear in the text.
"""

from __future__ import annotations

import re
from collections.abc import Set

_WORD = r"[A-Za-z]{1,32}"
_NUM = r"[0-9]{1,9}"
_SEP_IN = r"(?: ?[_-] ?| )"  # inside brackets
_SEP_BARE = r"\\?_"
OPENERS = ("<", "&lt;", "\\u003c")
CLOSERS = (">", "&gt;", "\\u003e")
_OPEN = r"(?:<|&lt;|\\u003c)"
_CLOSE = r"(?:>|&gt;|\\u003e)"

#: every accepted spelling; group 1: the name of a bracketed one, group 2: of a bare one
SPELLING_RE = re.compile(
    rf"{_OPEN} {{0,2}}((?:{_WORD}{_SEP_IN}){{1,7}}{_NUM}) {{0,2}}{_CLOSE}"
    rf"|(?<![\w\\])((?:{_WORD}{_SEP_BARE}){{1,7}}{_NUM})(?!\w)",
    re.I,
)
#: where a placeholder may start in a stream: an opener's first character or a word's first
#: letter (no word character before it)
_START_RE = re.compile(r"[<&\\]|(?<![\w\\])[A-Za-z]")
_SEPS_RE = re.compile(r"[ _\-\\]+")
_NAME_CHARS_IN = re.compile(r"[A-Za-z0-9 _\-]*")
_NAME_CHARS_BARE = re.compile(r"[A-Za-z0-9_\\]*")


def canonical(name: str) -> str:
    """The generated name a spelling stands for: ``iban 1`` -> ``IBAN_1``."""
    return _SEPS_RE.sub("_", name.strip()).upper()


def names_in(text: str) -> set[str]:
    """The canonical names of every accepted spelling in ``text`` (client look-alikes)."""
    if not any(c in text for c in "<&_\\"):
        return set()
    return {canonical(m.group(1) or m.group(2)) for m in SPELLING_RE.finditer(text)}


def max_spelling(name: str) -> int:
    """An upper bound on the length of any accepted spelling of ``name``."""
    return 3 * len(name) + 16


def _name_may_grow(part: str, prefixes: Set[str]) -> bool:
    return _SEPS_RE.sub("_", part.lstrip(" ")).upper() in prefixes


def could_grow(tail: str, names: Set[str], prefixes: Set[str]) -> bool:
    """Could ``tail`` (from a possible start to the end of the text so far) still become an
    accepted spelling of one of ``names``? ``prefixes``: every prefix of every name."""
    low = tail.lower()
    for opener in OPENERS:
        if len(low) < len(opener):
            if opener.startswith(low):
                return True
            continue
        if not low.startswith(opener):
            continue
        rest = tail[len(opener) :]
        part = _NAME_CHARS_IN.match(rest).group()  # type: ignore[union-attr]
        after = rest[len(part) :].lower()
        if not after:  # the name (or the spaces around it) reaches the end
            stripped = part.rstrip(" ")
            spaces_ok = len(part) - len(stripped) <= 2 and len(part) - len(part.lstrip(" ")) <= 2
            return spaces_ok and (_name_may_grow(part, prefixes) or canonical(stripped) in names)
        closing = any(c.startswith(after) and c != after for c in CLOSERS)
        return closing and canonical(part) in names
    if not tail[:1].isalpha():
        return False
    part = _NAME_CHARS_BARE.match(tail).group()  # type: ignore[union-attr]
    return len(part) == len(tail) and _SEPS_RE.sub("_", part).upper() in prefixes


def starts(text: str, pos: int) -> list[int]:
    """Positions from ``pos`` on where a placeholder spelling may start."""
    return [m.start() for m in _START_RE.finditer(text, pos)]


__all__ = ["SPELLING_RE", "canonical", "could_grow", "max_spelling", "names_in", "starts"]
