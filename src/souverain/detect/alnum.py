"""Identifiers that mix letters and digits: IBAN, EU VAT numbers, IT codice fiscale, ES DNI/NIE,
FI henkilötunnus, PT cartão de cidadão. One combined, case-insensitive regex proposes candidates;
python-stdnum decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from stdnum import iban as std_iban
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.eu import vat as eu_vat
from stdnum.fi import hetu as fi_hetu
from stdnum.it import codicefiscale as it_cf
from stdnum.pt import cc as pt_cc

from souverain.detect.finding import STRONG, Finding

_S = r"(?:[ .\-]|\r?\n)?"  # one optional separator inside an identifier
_O = "[0-9LMNPQRSTUV]"  # codice fiscale digits (omocodia letters replace digits)
_VAT_PREFIXES = (
    "ATU|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|XI"
)

_PATTERNS = {
    "iban": rf"[A-Z]{{2}}\d{{2}}(?:{_S}[A-Z0-9]{{4}}){{2,7}}(?:{_S}[A-Z0-9]{{1,3}})?",
    "vat": rf"(?:{_VAT_PREFIXES}){_S}[0-9A-Z](?:{_S}[0-9A-Z]){{7,13}}",
    "cf": rf"[A-Z]{{6}}{_O}{{2}}[A-Z]{_O}{{2}}[A-Z]{_O}{{3}}[A-Z]\b",
    "nie": r"[XYZ][ \-.]?\d{7}[ \-.]?[A-Z]\b",
    "dni": r"\d{1,2}\.?\d{3}\.?\d{3}[ \-]?[A-Z]\b",
    "hetu": r"\d{6}[\-+ABCDEFUVWXY]\d{3}[0-9A-Y]\b",
    "ptcc": r"\d{8} ?\d ?[A-Z0-9]{2}\d\b",
}
_RX = {k: re.compile(v, re.IGNORECASE) for k, v in _PATTERNS.items()}
_LETTER_FIRST = ("iban", "vat", "cf", "nie")
# The digit runs that can start or continue a candidate (a superset of those ``_candidates``
# keeps): glued to a letter on the left, after a VAT prefix or NIE letter and a separator, or of
# a digit-first length followed by what that identifier has next. Prose numbers ("am 26", "38 x",
# "2025-05-26") are skipped inside the regex. The first digit is matched before the lookbehinds
# so that the engine can skip to digits.
_DIGIT_RE = re.compile(
    r"[0-9](?<![0-9].)"
    r"(?:(?<=[^\W_].)|(?<=[A-Z]{2}[ .\-].)|(?<=[XYZxyz][ .\-].)"
    r"|(?=[0-9]?\.|[0-9]{5}[\-+A-Fa-fU-Yu-y]|[0-9]{7}(?:[^\W\d_]|[ \-])|[0-9]{8}[^\W\d_]))"
    r"[0-9]*"
)
_VAT_SET = frozenset(_VAT_PREFIXES.split("|"))

_COMPACT_RE = re.compile(r"[\s.\-]+")


def _compact(value: str) -> str:
    return _COMPACT_RE.sub("", value).upper()


def _cut(text: str, start: int, end: int, length: int) -> int | None:
    """End offset after ``length`` alphanumerics from ``start`` (separators skipped)."""
    count = 0
    for k in range(start, end):
        if text[k].isalnum():
            count += 1
            if count == length:
                return k + 1
    return None


def _iban(text: str, start: int, end: int) -> Finding | None:
    country = text[start : start + 2].upper()
    spec = _IBAN_LENGTHS.get(country)
    if spec is None:
        return None
    stop = _cut(text, start, end, spec)
    if stop is None or (stop < len(text) and text[stop].isalnum()):
        return None
    value = text[start:stop]
    if std_iban.is_valid(_compact(value)):
        return Finding("iban", start, stop, value, country, "stdnum.iban", STRONG)
    return None


def _vat(text: str, start: int, end: int) -> Finding | None:
    head = text[start : start + 2]
    if not head.isupper():  # "de 123456789" is Spanish or French, not a German VAT number
        return None
    # try the longest prefix ending on an alphanumeric first, then shorter ones
    for stop in range(end, start + 9, -1):
        if not text[stop - 1].isalnum():
            continue
        if stop < len(text) and text[stop].isalnum() and text[stop - 1].isalnum():
            continue
        value = text[start:stop]
        if eu_vat.is_valid(_compact(value)):
            country = value[:2].upper()
            country = "GR" if country == "EL" else country
            return Finding("vat_id", start, stop, value, country, "stdnum.eu.vat", STRONG)
    return None


def _simple(kind: str, country: str, module: object, validator: str, keep_dash: bool = False):  # type: ignore[no-untyped-def]
    def check(text: str, start: int, end: int) -> Finding | None:
        value = text[start:end]
        if module.is_valid(value.upper() if keep_dash else _compact(value)):  # type: ignore[attr-defined]
            return Finding(kind, start, end, value, country, validator, STRONG)
        return None

    return check


_CHECKS = {
    "iban": _iban,
    "vat": _vat,
    "cf": _simple("national_id", "IT", it_cf, "stdnum.it.codicefiscale"),
    "dni": _simple("national_id", "ES", es_dni, "stdnum.es.dni"),
    "nie": _simple("national_id", "ES", es_nie, "stdnum.es.nie"),
    "hetu": _simple("national_id", "FI", fi_hetu, "stdnum.fi.hetu", keep_dash=True),
    "ptcc": _simple("national_id", "PT", pt_cc, "stdnum.pt.cc"),
}


_KNOWN_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
_IBAN_LENGTHS = _KNOWN_IBAN_LENGTHS


def _digit_first(text: str, p: int, run: int) -> tuple[str, ...]:
    """Which digit-first patterns can start at ``p`` (a run of ``run`` digits): cheap tests."""
    after = text[p + run : p + run + 1]
    if run == 6 and after and after in "-+ABCDEFUVWXYabcdefuvwxy":
        return ("hetu",)
    if run == 8 and (after.isalpha() or after in (" ", "-")):
        return ("dni", "ptcc")
    if run == 9 and after.isalpha():
        return ("ptcc",)
    if run in (1, 2) and after == ".":
        return ("dni",)
    return ()


def _candidates(text: str, p: int, run: int) -> list[tuple[int, tuple[str, ...]]]:
    ws = p
    while ws > 0 and p - ws < 7 and text[ws - 1].isalnum():
        ws -= 1
    out: list[tuple[int, tuple[str, ...]]] = []
    if ws < p:
        if ws > 0 and text[ws - 1].isalnum():
            return out  # digits inside a long word: a hash, a code
        out.append((ws, _LETTER_FIRST))
    else:
        if p >= 3 and text[p - 1] in " .-" and text[p - 3 : p - 1] in _VAT_SET:
            out.append((p - 3, ("vat",)))
        elif p >= 4 and text[p - 1] in " .-" and text[p - 4 : p - 1] == "ATU":
            out.append((p - 4, ("vat",)))
        elif (
            p >= 2
            and text[p - 1] in " .-"
            and text[p - 2] in "XYZxyz"
            and (p == 2 or not text[p - 3].isalnum())
        ):
            out.append((p - 2, ("nie",)))
        kinds = _digit_first(text, p, run)
        if kinds:
            out.append((p, kinds))
    return out


def detect_alnum(text: str) -> Iterator[Finding]:
    consumed = 0
    for d in _DIGIT_RE.finditer(text):
        p = d.start()
        if p < consumed:
            continue
        for start, kinds in _candidates(text, p, d.end() - p):
            if start > 0 and text[start - 1].isalnum():
                continue
            found = None
            for kind in kinds:
                m = _RX[kind].match(text, start)
                if m is not None and (found := _CHECKS[kind](text, start, m.end())):
                    break
            if found is not None:
                yield found
                consumed = found.end
                break
