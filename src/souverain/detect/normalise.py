"""The normalised view every detector reads, with its offsets mapped back to the original.

A value must be found however it is spelled, so detectors never see the client's text as is but
a *view* of it:

* Unicode NFKC (fullwidth ``ＦＲ７６`` is ``FR76``, ligatures are split, superscripts are digits);
* every decimal digit of any script is an ASCII digit (``٣`` is ``3``);
* zero-width characters, soft hyphens, bidi controls and every other format character (Unicode
  category Cf) are removed, and so are combining marks left over after NFKC (``1̲`` is ``1``);
* every Unicode space (no-break, narrow no-break, thin, ideographic, tab, ...) is ``" "``, every
  dash (en, em, minus sign, non-breaking hyphen, ...) is ``"-"``, every dot (one-dot leader,
  middle dot, ideographic full stop, ...) is ``"."`` and every slash (fraction, division, big
  solidus, ...) is ``"/"``; the detectors accept these four as separators;
* line separators (U+2028, U+2029, NEL) are ``"\\n"``;
* Cyrillic and Greek letters that look like Latin ones are those Latin letters.

:func:`view` builds it in linear time. Most texts need no work (pure ASCII without tabs: the
view *is* the text); a text whose characters only change one for one (no-break spaces, dashes,
digits, look-alikes) is translated with identical offsets; only a text with deleted or expanded
characters gets a piecewise offset map. :meth:`View.span` maps a finding's offsets back, so that
pseudonymisation replaces the original spelling, invisible characters included.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from functools import lru_cache

#: A separator between two characters of an identifier, in the view: one or two spaces, a dot,
#: dash or slash (a space either side allowed), or a line break. At most four characters, so
#: that every identifier pattern reads a bounded window.
SEP = r"(?> ?[./\-] ?| ?\r?\n ?| {1,2})"  # atomic, longest alternative first: no backtracking

# Latin look-alikes (Cyrillic, Greek) that NFKC leaves alone: an IBAN's "FR" or a secret's "sk-"
# typed with them is still that value.
_CONFUSABLES = {
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "Х": "X", "У": "Y", "І": "I", "Ј": "J", "Ѕ": "S", "Ԛ": "Q", "Ԝ": "W",
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ј": "j",
    "ѕ": "s", "ԛ": "q", "ԝ": "w", "һ": "h", "ԁ": "d", "ӏ": "l",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o", "ν": "v", "ι": "i", "κ": "k",
}  # fmt: skip
_DOTS = "\u2024\u2027\u00b7\u2219\u22c5\u30fb\uff65\u3002\uff61\ufe52\u0387\u2e33\u2e31"
_SLASHES = "\u2044\u2215\u29f8\u2571\u27cb\u29f6\u2cc6\u3033\u30ce"
_DASHES = "\u2212\u2043\ufe58\ufe63\uff0d\u2796\u2e3a\u2e3b\u02d7"
_LINE_BREAKS = "\u2028\u2029\x85"
_EXTRA_SPACES = "\t\x0b\x0c\x1c\x1d\x1e\x1f"


def _class_of(chars: str) -> str:
    """A character class for ``chars`` as ranges (a long list of single characters, or any
    beyond the BMP, makes the engine test them one by one)."""
    points = sorted({ord(c) for c in chars})
    parts: list[str] = []
    i = 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        low, high = re.escape(chr(points[i])), re.escape(chr(points[j]))
        parts.append(low if i == j else f"{low}-{high}")
        i = j + 1
    return "[" + "".join(parts) + "]"


class _Classes:
    """A character class split at the BMP: the engine tests a BMP class with one table
    lookup, and most texts have no character beyond it (``max(text)`` says so)."""

    __slots__ = ("beyond", "bmp")

    def __init__(self, chars: str, suffix: str = ""):
        self.bmp = re.compile(_class_of("".join(c for c in chars if c <= "\uffff")) + suffix)
        self.beyond = re.compile(_class_of("".join(c for c in chars if c > "\uffff")) + suffix)

    def search(self, text: str) -> re.Match[str] | None:
        found = self.bmp.search(text)
        if found is None and max(text) > "\uffff":
            found = self.beyond.search(text)
        return found


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[int, str], re.Pattern[str], _Classes, _Classes, re.Pattern[str]]:
    """(one-for-one translation table, any character the view changes (or beyond the BMP),
    chars that need translating, chars deleted, chars that need the slow path). Built once,
    from ``unicodedata`` (about 50 ms)."""
    table: dict[int, str] = {}
    deleted: list[str] = []
    expanding: list[str] = []

    def canonical(c: str) -> str | None:
        cat = unicodedata.category(c)
        if c in _LINE_BREAKS:
            return "\n"
        if cat == "Zs" or c in _EXTRA_SPACES:
            return " "
        if cat == "Pd" or c in _DASHES:
            return "-"
        if c in _DOTS:
            return "."
        if c in _SLASHES:
            return "/"
        if cat == "Nd":
            return str(unicodedata.decimal(c))
        return _CONFUSABLES.get(c)

    ranges = [range(0x20000), range(0xE0000, 0xE0080), range(0xE0100, 0xE01F0)]
    for cp in (cp for r in ranges for cp in r):
        c = chr(cp)
        cat = unicodedata.category(c)
        if cat in ("Cn", "Co", "Cs"):
            continue
        if cat == "Cf" or cat in ("Mn", "Me"):
            deleted.append(c)  # marks: deleted unless NFKC composes them (slow path)
            continue
        out = canonical(c)
        if out is None:
            nf = unicodedata.normalize("NFKC", c)
            if nf == c:
                continue
            if len(nf) == 1:
                out = canonical(nf) or nf
            else:
                expanding.append(c)
                continue
        if out != c:
            table[cp] = out
    translate = _Classes("".join(map(chr, table)))
    gone = _Classes("".join(deleted))
    slow = re.compile(_class_of("".join(deleted) + "".join(expanding)) + "+")
    bmp = "".join(c for c in (*map(chr, table), *deleted, *expanding) if c <= "\uffff")
    special = re.compile(_class_of(bmp)[:-1] + "\U00010000-\U0010ffff]")
    return table, special, translate, gone, slow


def warm() -> None:
    """Build the tables now (the Scanner calls it so that the first request does not pay)."""
    _tables()


class View:
    """A normalised text (``text``) and the way back to the ``original``.

    Offsets are identical when the normalisation changed characters one for one; otherwise a
    piecewise map: ``(normalised start, original start, original end or -1)`` per segment, -1
    meaning a plain run where both advance together, else a unit (a character NFKC expanded,
    or a base and its marks) whose every normalised character maps to the whole unit."""

    __slots__ = ("_n_at", "_segments", "original", "text")

    def __init__(
        self, original: str, text: str, segments: list[tuple[int, int, int]] | None = None
    ):
        self.original = original
        self.text = text
        self._segments = segments
        self._n_at = [s[0] for s in segments] if segments is not None else None

    @property
    def same_offsets(self) -> bool:
        return self._segments is None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the normalised span ``[start, end)``."""
        if self._segments is None:
            return start, end
        return self._start(start), self._end(end)

    def _start(self, k: int) -> int:
        if k >= len(self.text):
            return len(self.original)
        assert self._n_at is not None and self._segments is not None
        n0, o0, o1 = self._segments[bisect_right(self._n_at, k) - 1]
        return o0 + (k - n0) if o1 < 0 else o0

    def _end(self, k: int) -> int:
        if k <= 0:
            return 0
        assert self._n_at is not None and self._segments is not None
        n0, o0, o1 = self._segments[bisect_right(self._n_at, k - 1) - 1]
        return o0 + (k - n0) if o1 < 0 else o1


_ASCII_SPACES = re.compile("[\t\x0b\x0c\x1c-\x1f]")


def view(text: str) -> View:
    """The normalised view of ``text`` (see the module docstring)."""
    if text.isascii():
        if _ASCII_SPACES.search(text) is None:
            return View(text, text)
        return View(text, text.translate(_tables()[0]))
    table, special, translate, gone, slow = _tables()
    if special.search(text) is None:  # accented text, say: nothing to change
        return View(text, text)
    t1 = text.translate(table) if translate.search(text) else text
    if gone.search(t1) is None and unicodedata.is_normalized("NFKC", t1):
        return View(text, t1)
    return _slow_view(text, t1, table, slow)


def _slow_view(text: str, t1: str, table: dict[int, str], slow: re.Pattern[str]) -> View:
    """Deletions and expansions: build the text piece by piece with its segment map."""
    pieces: list[str] = []
    segments: list[tuple[int, int, int]] = []
    n = 0  # length of the normalised text so far
    pos = 0  # original offset already consumed
    for m in slow.finditer(t1):
        a, b = m.span()
        # a run that starts with a combining mark takes its base character along (NFKC composes)
        if a > pos and unicodedata.combining(t1[a]):
            a -= 1
        if a > pos:
            segments.append((n, pos, -1))
            pieces.append(t1[pos:a])
            n += a - pos
        # each character of the run, with the marks that follow it, is one unit
        k = a
        while k < b:
            u = k + 1
            while u < b and unicodedata.combining(t1[u]):
                u += 1
            original = t1[k:u]
            unit = _UNITS.get(original)
            if unit is None:
                unit = _normal_unit(original, table)
                if len(_UNITS) >= _UNITS_MAX:
                    _UNITS.clear()
                _UNITS[original] = unit
            if unit:
                segments.append((n, k, u))
                pieces.append(unit)
                n += len(unit)
            k = u
        pos = b
    if pos < len(t1):
        segments.append((n, pos, -1))
        pieces.append(t1[pos:])
    if not segments:
        segments.append((0, len(text), len(text)))
    return View(text, "".join(pieces), segments)


#: units already normalised (a pure function of the unit: the table is built once), so that a
#: text repeating a few special characters (``1\u200b2\u00ad3...``) normalises each once
_UNITS: dict[str, str] = {}
_UNITS_MAX = 4096


def _normal_unit(unit: str, table: dict[int, str]) -> str:
    out = unicodedata.normalize("NFKC", unit).translate(table)
    return "".join(
        c
        for c in out
        if not unicodedata.combining(c) and unicodedata.category(c) not in ("Cf", "Mn", "Me")
    )
