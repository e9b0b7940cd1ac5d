"""Identifiers that mix letters and digits: IBAN, EU VAT numbers, IT codice fiscale, ES DNI/NIE,
FI henkilötunnus, PT cartão de cidadão, and the FR NIR of Corsica (department ``2A``/``2B``).

Candidates start at digit runs (rarer than words): a run that follows a word of one to four
letters (or six: the codice fiscale), directly or after a separator, or a run shaped like a
digit-first identifier. Each candidate is matched by its own bounded pattern, in which any
separator of the normalised view (space, ``.``, ``-``, ``/``, a line break) may stand between
characters; the country's format and checksum are checked in a few operations, and
python-stdnum confirms. Every pattern reads a bounded window, so the pass is linear in the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache

from stdnum import iban as std_iban
from stdnum import numdb
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.eu import vat as eu_vat
from stdnum.fi import hetu as fi_hetu
from stdnum.fr import nir as fr_nir
from stdnum.it import codicefiscale as it_cf
from stdnum.pt import cc as pt_cc

from souverain.detect.finding import STRONG, Finding
from souverain.detect.normalise import SEP

_S = f"{SEP}?"  # one optional separator between two characters of an identifier
_END = "(?![A-Za-z0-9])"
_O = "[0-9LMNPQRSTUV]"  # codice fiscale digits (omocodia letters replace digits)


def _spaced(*parts: str) -> str:
    """``parts`` (one character class each) with an optional separator between them."""
    return _S.join(parts)


def _digits(n: int) -> str:
    return _spaced(*[r"\d"] * n)


_PATTERNS = {
    "cf": _spaced(*["[A-Z]"] * 6, _O, _O, "[A-Z]", _O, _O, "[A-Z]", _O, _O, _O, "[A-Z]") + _END,
    # DNI and NIE digits as they are written (8 or 7 together, or 12.345.678 / 1.234.567): a
    # letter that is right 1 time in 23 would make every date followed by a word a suspect
    "nie": _spaced("[XYZ]", rf"\d(?:{_S}\d{{3}}){{2}}", "[A-Z]") + _END,
    "dni": _spaced(rf"\d{{2}}(?:{_S}\d{{3}}){{2}}", "[A-Z]") + _END,
    "hetu": r"\d{6}[\-+ABCDEFUVWXY]\d{3}[0-9A-Y]" + _END,
    # the two version characters are letters in practice: all-digit ones would make every
    # 12-digit number (an IPv4 address) a suspect
    "ptcc": _spaced(r"\d{8}", r"\d", f"(?:[A-Z]{_S}[A-Z0-9]|[0-9]{_S}[A-Z])", r"\d") + _END,
    "nir_corsica": _spaced(_digits(5), "2", "[AB]", _digits(8)) + _END,
}
_RX = {k: re.compile(v, re.IGNORECASE) for k, v in _PATTERNS.items()}

# Candidates: a digit that starts a run and follows, directly or after one separator, the
# letters an identifier begins with, at a word start (every lookbehind below has a fixed width:
# a pair of letters that is an IBAN country or a VAT prefix, a VAT prefix and one or two letters
# of the number, a NIE letter, two spaced capitals, six letters glued: a codice fiscale); or a
# digit that starts a digit-first shape (the lookahead repeats the pattern without the digit the
# regex consumed). A Corsican NIR is found from its department instead (``2A``, ``2B``: rare in
# text; a lookahead over five spaced digits cost more than all the others together).
_SEPCHAR = r"[ ./\-\r\n]"
_WORD_START = "(?<![A-Za-z0-9])"


def _pairs(codes: Iterable[str], either_case: bool) -> str:
    """A fixed-width pattern for these two-letter codes: a branch per first letter."""
    by_first: dict[str, set[str]] = {}
    for code in codes:
        by_first.setdefault(code[0], set()).add(code[1])

    def cls(letters: set[str]) -> str:
        return "".join(sorted(letters | ({c.lower() for c in letters} if either_case else set())))

    return "(?:" + "|".join(f"[{cls({a})}][{cls(b)}]" for a, b in sorted(by_first.items())) + ")"


def _apart(sep: str) -> str:
    """Before the digit (and ``sep``): one or two capitals written apart from capitals before
    them (``FR K7``, ``AT U 1``, ``F R KA 39``): the letters of a VAT number after its prefix."""
    return "|".join(
        f"(?<=[A-Z]{_SEPCHAR * k}[A-Z]{{{g}}}{sep}.)" for k in (1, 2, 3) for g in (1, 2)
    )


def _letter_lookbehinds() -> str:
    countries = _pairs(set(_IBAN_FORMATS) | _VAT_PREFIXES, either_case=True)
    vat = _pairs(_VAT_PREFIXES, either_case=False)
    glued = (
        f"(?<={_WORD_START}(?P<cc0>{countries}).)",
        f"(?<={_WORD_START}(?P<vat0a>{vat}[A-Z]).)",
        f"(?<={_WORD_START}(?P<vat0b>{vat}[A-Z]{{2}}).)",
        f"(?<={_WORD_START}(?P<nie0>[XYZxyz]).)",
        f"(?<={_WORD_START}(?P<cf>[A-Za-z]{{6}}).)",
        f"(?:{_apart('')})(?P<back0>)",
    )
    # letters, then one to three separators (``FR 76``, ``FR  76``, ``FR / 76``); two capitals
    # written apart (``F R 76``, ``F/R/7...``) likewise
    seps = {n: _SEPCHAR * n for n in (1, 2, 3)}
    spaced = []
    for n, sep in seps.items():
        alternatives = [
            f"(?<={_WORD_START}(?P<cc{n}>{countries}){sep}.)",
            f"(?<={_WORD_START}(?P<vat{n}a>{vat}[A-Z]){sep}.)",
            f"(?<={_WORD_START}(?P<vat{n}b>{vat}[A-Z]{{2}}){sep}.)",
            *(f"(?<={_WORD_START}(?P<sp{n}{m}>[A-Z]{seps[m]}[A-Z]){sep}.)" for m in seps),
        ]
        if n == 1:
            alternatives.insert(3, f"(?<={_WORD_START}(?P<nie1>[XYZxyz]){sep}.)")
        # none of the above: capitals spelled apart (``F R K 7...``, ``AT U1...``), walked back
        alternatives.append(f"(?:{_apart(sep)})(?P<back{n}>)")
        # a gate before each group: most digit runs follow no letter and separators
        spaced.append(f"(?<=[A-Za-z]{sep}.)(?:{'|'.join(alternatives)})")
    return f"(?<=[A-Za-z].)(?:{'|'.join(glued)})|" + "|".join(spaced)


_DIGIT_FIRST_REST = "|".join(
    (
        rf"\d(?:{_S}\d{{3}}){{2}}{_S}[A-Z]{_END}",  # dni
        r"\d{5}[\-+A-FU-Y]\d{3}[0-9A-Y]" + _END,  # hetu
        rf"\d{{7}}{_S}\d{_S}(?:[A-Z]|[0-9]{_S}[A-Z])",  # cartão de cidadão
    )
)
_CORSICA_RE = re.compile(rf"2(?<=[0-9 ./\-\r\n]2){_S}[AB](?![A-Za-z])", re.IGNORECASE)
_SEP_SET = frozenset(" ./-\r\n")
# IBAN and VAT numbers are checked on the compact form of a window: the letters, digits and
# separators after the start (any grouping), separators dropped; the value's end is found by
# counting characters only once it is valid.
_WINDOW = 160
_WINDOW_RE = re.compile(r"[A-Za-z0-9 ./\-\r\n]*")
_COMPACT_TABLE = str.maketrans("", "", " ./-\r\n")


def _compact(value: str) -> str:
    """The letters and digits of a candidate (the patterns admit only those and separators)."""
    return value.translate(_COMPACT_TABLE).upper()


@lru_cache(maxsize=64)
def _nth_alnum(length: int) -> re.Pattern[str]:
    return re.compile(rf"(?:[^A-Za-z0-9]*[A-Za-z0-9]){{{length}}}")


def _cut(text: str, start: int, length: int) -> int | None:
    """End offset after ``length`` letters and digits from ``start`` (separators skipped), if
    the value ends there (no letter or digit glued after it)."""
    m = _nth_alnum(length).match(text, start)
    if m is None:
        return None
    stop = m.end()
    return stop if stop >= len(text) or not text[stop].isalnum() else None


def _iban_formats() -> dict[str, tuple[int, re.Pattern[str]]]:
    """IBAN length and BBAN structure per country, from python-stdnum's copy of the SWIFT
    registry (checked before the mod-97 sum: most look-alikes fail it at once)."""
    out: dict[str, tuple[int, re.Pattern[str]]] = {}
    for _length, low, _high, props, _children in numdb.get("iban").prefixes:
        bban = props.get("bban")
        if bban:
            length = 4 + sum(int(n) for n in re.findall(r"(\d+)!", bban))
            out[low] = (length, std_iban._struct_to_re(bban))
    return out


_IBAN_FORMATS = _iban_formats()
_MOD97_TABLE = {ord(c): str(ord(c) - 55) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def _iban(text: str, start: int, compact: str) -> Finding | None:
    spec = _iban_spec(compact)
    if spec is None:
        return None
    length, value = spec
    stop = _cut(text, start, length)
    if stop is None or not std_iban.is_valid(value):
        return None
    return Finding("iban", start, stop, text[start:stop], value[:2], "stdnum.iban", STRONG)


@lru_cache(maxsize=512)
def _iban_spec(compact: str) -> tuple[int, str] | None:
    """The IBAN's length and value if ``compact`` starts with one that has its country's
    structure and a valid mod-97 sum (a function of the compact form alone: cached, so that a
    text repeating one look-alike checks it once)."""
    if not (compact[2:4].isdigit() and compact[:2].isalpha()):
        return None
    spec = _IBAN_FORMATS.get(compact[:2])
    if spec is None or len(compact) < spec[0]:
        return None
    length, bban = spec
    value = compact[:length]
    if bban.match(value[4:]) is None:
        return None
    if int((value[4:] + value[:4]).translate(_MOD97_TABLE)) % 97 != 1:
        return None
    return length, value


_VAT_PREFIXES = frozenset(
    "AT BE BG CY CZ DE DK EE EL ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK XI".split()
)
# After the country prefix: the lengths and shape the number may have (stdnum decides after;
# it also takes GR for EL and an NL number without its leading zeros).
_VAT_FORMATS: dict[str, tuple[tuple[int, ...], re.Pattern[str]]] = {
    cc: (lengths, re.compile(shape))
    for cc, lengths, shape in (
        ("AT", (9,), r"U\d{8}"), ("BE", (10, 9), r"\d{9,10}"), ("BG", (10, 9), r"\d{9,10}"),
        ("CY", (9,), r"\d{8}[A-Z]"), ("CZ", (10, 9, 8), r"\d{8,10}"), ("DE", (9,), r"\d{9}"),
        ("DK", (8,), r"\d{8}"), ("EE", (9,), r"\d{9}"), ("EL", (9, 8), r"\d{8,9}"), ("GR", (9, 8), r"\d{8,9}"),
        ("ES", (9,), r"[0-9A-Z]\d{7}[0-9A-Z]"), ("FI", (8,), r"\d{8}"),
        ("FR", (11,), r"[0-9A-Z]{2}\d{9}"), ("HR", (11,), r"\d{11}"), ("HU", (8,), r"\d{8}"),
        ("IE", (9, 8), r"\d[0-9A-Z+*]\d{5}[A-Z]{1,2}"), ("IT", (11,), r"\d{11}"),
        ("LT", (12, 9), r"\d{9}|\d{12}"), ("LU", (8,), r"\d{8}"), ("LV", (11,), r"\d{11}"),
        ("MT", (8,), r"\d{8}"), ("NL", (12, 11, 10), r"\d{7,9}B\d{2}"), ("PL", (10,), r"\d{10}"),
        ("PT", (9,), r"\d{9}"), ("RO", (10, 9, 8, 7, 6, 5, 4, 3, 2), r"\d{2,10}"),
        ("SE", (12,), r"\d{10}01"), ("SI", (8,), r"\d{8}"), ("SK", (10,), r"\d{10}"),
        ("XI", (12, 9, 5), r"\d{9}|\d{12}|GD\d{3}|HA\d{3}"),
    )
}  # fmt: skip


def _vat(text: str, start: int, compact: str) -> Finding | None:
    if not text[start].isupper():  # "de 123456789" is Spanish or French, not a German VAT number
        return None
    country = compact[:2]
    for length in _vat_lengths(compact):
        stop = _cut(text, start, length + 2)
        if stop is not None and eu_vat.is_valid(compact[: length + 2]):
            found = "GR" if country == "EL" else country
            return Finding("vat_id", start, stop, text[start:stop], found, "stdnum.eu.vat", STRONG)
    return None


@lru_cache(maxsize=512)
def _vat_lengths(compact: str) -> tuple[int, ...]:
    """The lengths (after the prefix) at which ``compact`` has its country's VAT shape, in the
    order they are tried (a function of the compact form alone: cached, as for IBANs)."""
    spec = _VAT_FORMATS.get(compact[:2])
    if spec is None:
        return ()
    return tuple(
        length
        for length in spec[0]
        if len(number := compact[2 : length + 2]) == length and spec[1].fullmatch(number)
    )


def _simple(
    kind: str, country: str, module: object, validator: str, keep_dash: bool = False
) -> Callable[[str, int, int], Finding | None]:
    def check(text: str, start: int, end: int) -> Finding | None:
        value = text[start:end]
        if module.is_valid(value.upper() if keep_dash else _compact(value)):  # type: ignore[attr-defined]
            return Finding(kind, start, end, value, country, validator, STRONG)
        return None

    return check


_ON_COMPACT: dict[str, Callable[[str, int, str], Finding | None]] = {"iban": _iban, "vat": _vat}
_CHECKS: dict[str, Callable[[str, int, int], Finding | None]] = {
    "cf": _simple("national_id", "IT", it_cf, "stdnum.it.codicefiscale"),
    "dni": _simple("national_id", "ES", es_dni, "stdnum.es.dni"),
    "nie": _simple("national_id", "ES", es_nie, "stdnum.es.nie"),
    "hetu": _simple("national_id", "FI", fi_hetu, "stdnum.fi.hetu", keep_dash=True),
    "ptcc": _simple("national_id", "PT", pt_cc, "stdnum.pt.cc"),
    "nir_corsica": _simple("national_id", "FR", fr_nir, "stdnum.fr.nir"),
}
_DIGIT_FIRST = ("dni", "hetu", "ptcc")


def _kinds(letters: str) -> tuple[str, ...]:
    """The patterns to try after these leading letters."""
    n = len(letters)
    if n == 1:
        return ("nie",) if letters in "XYZ" else ()
    if n == 6:
        return ("cf",)
    if n > 4 or (n > 2 and letters[:2] not in _VAT_PREFIXES):
        return ()
    if n == 2:
        kinds = ("iban",) if letters in _IBAN_FORMATS else ()
        return (*kinds, "vat") if letters in _VAT_PREFIXES else kinds
    return ("vat",)  # ATU..., FRXX..., ESX...: a prefix and letters of the number


_CANDIDATE_RE = re.compile(
    rf"[0-9](?<![0-9].)(?:{_letter_lookbehinds()}|(?P<digit>(?i:(?={_DIGIT_FIRST_REST}))))"
)
_DIGIT_FIRST_AT = re.compile(rf"[0-9](?={_DIGIT_FIRST_REST})", re.IGNORECASE)


def _starts(m: re.Match[str]) -> tuple[tuple[int, tuple[str, ...]], ...]:
    """Where the identifier a candidate proposes may start, and its possible kinds."""
    name = m.lastgroup
    assert name is not None
    if name == "digit":
        return ((m.start(), _DIGIT_FIRST),)
    if name.startswith(("back", "sp")):  # letters spelled apart: which of them start it
        first = _spelled_apart(m.string, m.start())
        if _DIGIT_FIRST_AT.match(m.string, m.start()) is not None:
            return (*first, (m.start(), _DIGIT_FIRST))
        return first
    start = m.start(name)
    if name.startswith("cc"):
        kinds = _kinds(m.group(name).upper())
    elif name.startswith("vat"):
        kinds = ("vat",)
    elif name.startswith("nie"):
        kinds = ("nie",)
    else:
        kinds = ("cf",)
    first = ((start, kinds),) if kinds else ()
    # the digit-first lookahead was not tried (an alternative before it matched)
    if _DIGIT_FIRST_AT.match(m.string, m.start()) is not None:
        return (*first, (m.start(), _DIGIT_FIRST))
    return first


def _spelled_apart(text: str, digit: int) -> tuple[tuple[int, tuple[str, ...]], ...]:
    """The starts of the letters before ``digit`` written in groups (``F R K 7``, ``AT U1``):
    groups of letters joined by one to three separators, four letters at most, the first at a
    word start; the farthest start first."""
    starts: list[tuple[int, tuple[str, ...]]] = []
    letters, k = "", digit
    while True:
        seps = 0
        while k > 0 and text[k - 1] in _SEP_SET and seps < 3:
            k, seps = k - 1, seps + 1
        end = k
        while k > 0 and text[k - 1].isascii() and text[k - 1].isalpha() and digit - k < 24:
            k -= 1
        if k == end or len(letters) + end - k > 4 or (k > 0 and text[k - 1].isalnum()):
            break
        letters = text[k:end] + letters
        kinds = _kinds(letters.upper())
        if kinds:
            starts.append((k, kinds))
    return tuple(reversed(starts))


def detect_alnum(text: str) -> Iterator[Finding]:
    consumed = 0
    for c in _CANDIDATE_RE.finditer(text):
        if c.start() < consumed:
            continue
        for start, kinds in _starts(c):
            if start < consumed:
                continue
            found = _first(text, start, kinds)
            if found is not None:
                yield found
                consumed = found.end
                break
    if "2" in text:
        yield from _corsican_nirs(text)


def _window(text: str, start: int) -> str:
    """The compact form of the window at ``start``: 40 characters, which hold any IBAN or VAT
    number written with single separators, or up to ``_WINDOW`` when that is not enough."""
    # one match for both widths: the class is matched greedily, so the 40-character window
    # ends where the wide one does, or at 40; compacting is per character, so the wide
    # window's compact form is the narrow one's plus the rest's
    wide = _WINDOW_RE.match(text, start, start + _WINDOW).end()  # type: ignore[union-attr]
    stop = min(wide, start + 40)
    compact = _compact(text[start:stop])
    if len(compact) < 34 and stop == start + 40 and _may_hold_more(compact):
        compact += _compact(text[stop:wide])
    return compact


_NO_DIGITS = str.maketrans("", "", "0123456789")


def _may_hold_more(compact: str) -> bool:
    """Could a wider window hold an IBAN or a VAT number that starts as ``compact``? An IBAN has
    two check digits after its country; a VAT number at most three letters after its prefix
    (``FR  7 FR  7 ...`` is neither: not worth 160 characters a candidate)."""
    return compact[2:4].isdigit() or len(compact[2:24].translate(_NO_DIGITS)) <= 3


def _first(text: str, start: int, kinds: tuple[str, ...]) -> Finding | None:
    """The first of ``kinds`` that is valid at ``start``."""
    compact = None
    for kind in kinds:
        on_compact = _ON_COMPACT.get(kind)
        if on_compact is not None:
            if compact is None:
                compact = _window(text, start)
            found = on_compact(text, start, compact)
        else:
            m = _RX[kind].match(text, start)
            found = _CHECKS[kind](text, start, m.end()) if m is not None else None
        if found is not None:
            return found
    return None


def _corsican_nirs(text: str) -> Iterator[Finding]:
    """NIRs of people born in Corsica: the five digits before the department, walked back."""
    for m in _CORSICA_RE.finditer(text):
        k, digits = m.start(), 0
        while k > 0 and digits < 5 and m.start() - k < 25:
            c = text[k - 1]
            if c.isdigit():
                digits += 1
            elif c not in _SEP_SET:
                break
            k -= 1
        if digits == 5 and (k == 0 or not text[k - 1].isalnum()):
            full = _RX["nir_corsica"].match(text, k)
            if full is not None and (found := _CHECKS["nir_corsica"](text, k, full.end())):
                yield found
