"""Digit-run identifiers: national ids, company ids, payment cards, phones and IPv4.

One anchored regex finds *runs* of digit groups joined by the separators of the normalised view
(spaces, dots, dashes, slashes, a line break; ``+`` between digits, as in a Swedish
personnummer of someone over 100). Each run is cut into windows of consecutive groups, and only
windows of a length some identifier can have are checked, cheapest test first: length and
prefix, then the context cue when the identifier needs one, then python-stdnum.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import islice

from stdnum.be import nn as be_nn
from stdnum.de import idnr as de_idnr
from stdnum.dk import cpr as dk_cpr
from stdnum.fr import nir as fr_nir
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret
from stdnum.it import codicefiscale as it_cf
from stdnum.nl import bsn as nl_bsn
from stdnum.pl import pesel as pl_pesel
from stdnum.pt import nif as pt_nif
from stdnum.se import personnummer as se_pnr

from souverain.detect.cues import CONTEXT_CHARS, LazyCues
from souverain.detect.finding import PATTERN, STRONG, WEAK, Finding
from souverain.detect.normalise import SEP

_SEP = rf"(?>{SEP}|(?<=\d)\+(?=\d))"
_GROUP = r"(?:\d+|\(\d{1,4}\))"
# A run starts on "+", "(" or a digit not preceded by a letter, digit or "+". The first character
# is matched before the lookbehind (``(?<![\w+].)``) so that the engine can skip to candidate
# characters instead of testing the lookbehind at every position of the text.
_RUN_HEAD = r"[+(\d](?<![\w+].)"
# atomic and possessive: a run is read once, never re-tried (a third of the time, and linear)
_RUN_BODY = rf"(?:(?<=\+) ?{_GROUP}|(?<=\()\d{{1,4}}\)|(?<=\d)\d*)(?>{_SEP}?(?>{_GROUP}))*+"
RUN_RE = re.compile(_RUN_HEAD + _RUN_BODY)
# The same runs, only those that can hold something: a run that starts with "+" (a phone may
# have 6 digits), an IPv4 address, or 8 digits or more (every other window has 8 at least).
# The lookaheads drop most digit runs of prose ("38 x", "2025-123", "14h30") inside the regex.
_MORE_DIGITS = r"(?:[ ./\-()+\r\n]{0,4}\d)"
LONG_RUN_RE = re.compile(
    _RUN_HEAD
    + r"(?=[\d+() .\-/\r\n]{6})"
    + rf"(?:(?<=\+)|(?<=\d)(?={_MORE_DIGITS}{{7}})|(?<=\()(?={_MORE_DIGITS}{{8}})"
    + r"|(?<=\d)(?=\d{0,2}\.\d{1,3}\.\d{1,3}\.\d))"
    + _RUN_BODY
)
_DIGITS_RE = re.compile(r"\(0\)|\d+")

MAX_GROUPS = 19  # an identifier may be spelled digit by digit
MAX_DIGITS = 19
#: Windows that start in a run's first groups are checked one by one (phones, IPv4, labelled
#: identifiers); deeper ones can only be a card or an identifier that needs no label.
SHALLOW_GROUPS = 3
#: Below this many deep groups in a text, Python checks their windows too; above, numpy
#: filters them first (:mod:`souverain.detect.windows`).
BULK_GROUPS = 64


@dataclass(frozen=True, slots=True)
class IdRule:
    """One digits-only identifier: its length, type, country, validator and the cue it needs."""

    type: str
    country: str
    module: Callable[[str], bool]
    validator: str
    cue: str | None = None  # None: strong enough to be reported without a cue


def _uniform(seps: list[str]) -> bool:
    """One separator throughout (line breaks aside)."""
    kind = None
    for sep in seps:
        if "\n" in sep:
            continue
        if kind is None:
            kind = sep
        elif sep != kind:
            return False
    return True


RULES: dict[int, tuple[IdRule, ...]] = {
    9: (
        IdRule("company_id", "FR", fr_siren.is_valid, "stdnum.fr.siren", "fr_siren"),
        IdRule("national_id", "NL", nl_bsn.is_valid, "stdnum.nl.bsn", "nl_bsn"),
        IdRule("national_id", "PT", pt_nif.is_valid, "stdnum.pt.nif", "pt_nif"),
    ),
    10: (
        IdRule("national_id", "SE", se_pnr.is_valid, "stdnum.se.personnummer", "se_pnr"),
        IdRule("national_id", "DK", dk_cpr.is_valid, "stdnum.dk.cpr", "dk_cpr"),
        IdRule("national_id", "AT", lambda d: _at_vnr(d), "stdnum.at.vnr", "at_vnr"),
    ),
    11: (
        IdRule("national_id", "DE", de_idnr.is_valid, "stdnum.de.idnr"),
        IdRule("national_id", "BE", be_nn.is_valid, "stdnum.be.nn"),
        IdRule("national_id", "PL", pl_pesel.is_valid, "stdnum.pl.pesel", "pl_pesel"),
        # a company's codice fiscale: its 11 digits, the partita IVA (a Luhn-like check)
        IdRule("company_id", "IT", it_cf.is_valid, "stdnum.it.codicefiscale", "it_cf"),
    ),
    12: (IdRule("national_id", "SE", se_pnr.is_valid, "stdnum.se.personnummer", "se_pnr"),),
    14: (IdRule("company_id", "FR", fr_siret.is_valid, "stdnum.fr.siret", "fr_siren"),),
    15: (IdRule("national_id", "FR", fr_nir.is_valid, "stdnum.fr.nir"),),
}


def _at_vnr(digits: str) -> bool:
    from stdnum.at import vnr

    return bool(vnr.is_valid(digits))


# Payment cards: (prefix ranges, allowed lengths). Luhn alone lets 1 number in 10 through.
_CARD_IIN: tuple[tuple[int, int, int, frozenset[int]], ...] = (
    # (prefix digits, low, high, lengths)
    (1, 4, 4, frozenset({16, 19})),  # Visa
    (2, 51, 55, frozenset({16})),  # Mastercard
    (4, 2221, 2720, frozenset({16})),  # Mastercard 2-series
    (2, 34, 34, frozenset({15})),  # American Express
    (2, 37, 37, frozenset({15})),
    (4, 6011, 6011, frozenset({16, 19})),  # Discover
    (3, 644, 649, frozenset({16, 19})),
    (2, 65, 65, frozenset({16, 19})),
    (4, 3528, 3589, frozenset({16, 19})),  # JCB
    (2, 36, 36, frozenset({14})),  # Diners
    (3, 300, 305, frozenset({14})),
    (2, 62, 62, frozenset({16, 17, 18, 19})),  # UnionPay
    (2, 50, 50, frozenset({16, 17, 18, 19})),  # Maestro
    (2, 56, 58, frozenset({16, 17, 18, 19})),
    (2, 67, 67, frozenset({16, 17, 18, 19})),
)


def is_card(digits: str) -> bool:
    n = len(digits)
    if n < 14 or n > 19:
        return False
    for width, low, high, lengths in _CARD_IIN:
        if n in lengths and low <= int(digits[:width]) <= high:
            return luhn_ok(digits)
    return False


_DOUBLED = str.maketrans("0123456789", "0246813579")  # 2d, its digits summed


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check of a digit string (``stdnum.luhn`` is general and slower)."""
    return sum(map(int, digits[-1::-2] + digits[-2::-2].translate(_DOUBLED))) % 10 == 0


# Calling code -> (country, shortest and longest national significant number).
CALLING_CODES: dict[str, tuple[str, int, int]] = {
    "33": ("FR", 9, 9),
    "49": ("DE", 6, 13),
    "39": ("IT", 6, 11),
    "34": ("ES", 9, 9),
    "31": ("NL", 9, 9),
    "32": ("BE", 8, 9),
    "48": ("PL", 9, 9),
    "351": ("PT", 9, 9),
    "46": ("SE", 7, 9),
    "45": ("DK", 8, 8),
    "358": ("FI", 5, 11),
    "43": ("AT", 4, 13),
    "353": ("IE", 7, 9),
    "352": ("LU", 4, 11),
    "30": ("GR", 10, 10),
    "420": ("CZ", 9, 9),
    "421": ("SK", 9, 9),
    "36": ("HU", 8, 9),
    "40": ("RO", 9, 9),
    "359": ("BG", 8, 9),
    "385": ("HR", 8, 9),
    "386": ("SI", 8, 8),
    "370": ("LT", 8, 8),
    "371": ("LV", 8, 8),
    "372": ("EE", 7, 8),
    "356": ("MT", 8, 8),
    "357": ("CY", 8, 8),
    "354": ("IS", 7, 7),
    "47": ("NO", 8, 8),
    "41": ("CH", 9, 9),
    "44": ("GB", 9, 10),
    "1": ("US", 10, 10),
}


def _calling_code(digits: str) -> tuple[str, str, int, int] | None:
    for width in (1, 2, 3):
        spec = CALLING_CODES.get(digits[:width])
        if spec:
            return digits[:width], spec[0], spec[1], spec[2]
    return None


def _international(digits: str) -> tuple[bool, str | None]:
    """Is ``digits`` (after + or 00) a plausible international number? -> (ok, country)."""
    cc = _calling_code(digits)
    if cc is None:
        return 8 <= len(digits) <= 15, None
    code, country, low, high = cc
    nsn = len(digits) - len(code)
    return low <= nsn <= high, country


def _is_ipv4(groups: list[str], seps: list[str]) -> bool:
    if len(groups) != 4 or any(s != "." for s in seps):
        return False
    if any(len(g) > 1 and g[0] == "0" for g in groups):
        return False
    try:
        ipaddress.IPv4Address(".".join(groups))
    except ValueError:
        return False
    return True


_AFTER_LAST_DIGIT = re.compile(r"[0-9)][^0-9)]*$")


def _context(text: str, scan_from: int, run_start: int) -> str:
    """The cue context of a run: the text since the previous digit (short runs included, which
    ``LONG_RUN_RE`` skips), at most ``CONTEXT_CHARS`` back."""
    low = max(scan_from, run_start - CONTEXT_CHARS)
    last = _AFTER_LAST_DIGIT.search(text, low, run_start)
    return text[last.start() + 1 if last is not None else low : run_start]


def detect_numbers(text: str) -> Iterator[Finding]:
    scan_from = 0  # the end of the previous long run: short runs after it are found on demand
    deep: list[tuple[int, int, bool, list[tuple[int, int, str]] | None]] = []
    for m in LONG_RUN_RE.finditer(text):
        run_start, run_end = m.span()
        if run_end - run_start < 7:  # too short for any identifier, phone or IPv4
            scan_from = run_end
            continue
        plus = text[run_start] == "+"
        if not plus and _nothing_to_find(m.group()):
            scan_from = run_end
            continue
        run = m.group()
        if run.isdigit():  # one group: most runs left, one window
            scan_from, low = run_end, scan_from
            if plus or not 8 <= len(run) <= 19:
                continue
            glued = run_end < len(text) and text[run_end].isalpha()
            if not glued:
                cues = LazyCues(partial(_context, text, low, run_start))
                window = [(run_start, run_end, run)]
                found = _check(text, run_start, run_end, run, window, cues, False, 0, True)
                if found is not None:
                    yield found
            continue
        groups = _DIGITS_RE.finditer(text, run_start, run_end)
        spans = [_span(g) for g in islice(groups, _HEAD)]  # a long run: its head only
        complete = next(groups, None) is None
        if complete and sum(len(d) for _, _, d in spans) < 7 and not (len(spans) == 4 and not plus):
            scan_from = run_end
            continue
        # the run may not be glued to letters on its right ("12345abc" is a code, not an id)
        glued = run_end < len(text) and text[run_end].isalpha()
        cues = LazyCues(partial(_context, text, scan_from, run_start))
        scan_from = run_end
        shallow = range(min(len(spans), SHALLOW_GROUPS))
        yield from _windows(text, spans, cues, plus, glued, shallow, complete)
        if len(spans) > SHALLOW_GROUPS:
            deep.append((run_start, run_end, glued, spans if complete else None))
    if deep:
        yield from _deep(text, deep)


_HEAD = SHALLOW_GROUPS + MAX_GROUPS
_DROP_DIGITS = str.maketrans("", "", "0123456789")
_DAY, _MONTH, _YEAR = r"(?:0[1-9]|[12]\d|3[01])", r"(?:0[1-9]|1[0-2])", r"(?:19|20)\d\d"
_DATE_RE = re.compile(rf"{_YEAR}([./\-]){_MONTH}\1{_DAY}|{_DAY}([./\-]){_MONTH}\2{_YEAR}")


def _nothing_to_find(run: str) -> bool:
    """Runs (not starting with "+") that no window can match: fewer than 8 digits and not an
    IPv4 address (most are dropped by ``LONG_RUN_RE`` already), or exactly a date (the only
    window, 8 digits at the start, could only be a phone, and a date is not one)."""
    if len(run) == 10:
        return _DATE_RE.fullmatch(run) is not None
    if len(run) < 15:
        digits = len(run) - len(run.translate(_DROP_DIGITS))
        return digits < 8 and run.count(".") != 3
    return False


_NO_CUES = LazyCues("")


def _span(g: re.Match[str]) -> tuple[int, int, str]:
    return g.start(), g.end(), "" if (d := g.group()) == "(0)" else d


def _deep(
    text: str, runs: list[tuple[int, int, bool, list[tuple[int, int, str]] | None]]
) -> Iterator[Finding]:
    """The windows that start past the first groups of their run (``runs``: start, end,
    glued, the groups when the run is short): only cards and identifiers that need no label."""
    small = [spans for *_, spans in runs if spans is not None]
    if len(small) == len(runs) and sum(len(s) - SHALLOW_GROUPS for s in small) < BULK_GROUPS:
        for _, _, glued, spans in runs:
            assert spans is not None
            deep = range(SHALLOW_GROUPS, len(spans))
            yield from _windows(text, spans, _NO_CUES, False, glued, deep, True)
        return
    from souverain.detect import windows as bulk

    bounds = [(start, end, glued) for start, end, glued, _ in runs]
    countries = [country for _, (country, _, _) in sorted(CALLING_CODES.items())]
    rules = {bulk.KIND_DE_IDNR: RULES[11][0], bulk.KIND_BE_NN: RULES[11][1]}
    rules[bulk.KIND_FR_NIR] = RULES[15][0]
    found = bulk.deep_windows(text, bounds, SHALLOW_GROUPS, MAX_GROUPS, _CARD_IIN, CALLING_CODES)
    for _, _, start, end, kind in found:
        value = text[start:end]
        if kind >= bulk.KIND_PHONE:
            country = countries[kind - bulk.KIND_PHONE]
            yield Finding("phone", start, end, value, country, None, PATTERN)
        elif kind == bulk.KIND_CARD:
            yield Finding("payment_card", start, end, value, None, "luhn+iin", STRONG)
        else:
            yield _id_finding(rules[kind], text, start, end, "")


# Digit counts a window can have to be anything: a window that starts the run may be a phone
# (8-13 digits), an identifier (9-15) or a card (14-19); a later window only an identifier or
# a card; a deep one (no label is looked for) only a card or a label-free identifier. A window
# starting with "+" and a whole run of 4 groups (IPv4) are always checked.
_FIRST_LENGTHS = frozenset(range(8, 20))
_LATER_LENGTHS = frozenset(RULES) | frozenset(range(14, 20))
_DEEP_LENGTHS = frozenset(n for n, rules in RULES.items() if any(r.cue is None for r in rules))
_DEEP_LENGTHS |= frozenset(range(14, 20))


def _windows(
    text: str,
    spans: list[tuple[int, int, str]],
    cues: LazyCues,
    plus: bool,
    glued: bool,
    starts: range,
    complete: bool,
) -> Iterator[Finding]:
    """The windows of one run that start at the groups ``starts``. ``complete``: ``spans`` is
    the whole run, not only its head."""
    n = len(spans) if complete else len(spans) + MAX_GROUPS  # past the head: not its end
    ends = [0]
    for _, _, d in spans:
        ends.append(ends[-1] + len(d))
    ends.extend([ends[-1] + MAX_DIGITS + 3] * (n - len(spans)))
    digits_of = "".join(d for _, _, d in spans)
    for i in starts:
        if i == 0:
            lengths = _FIRST_LENGTHS
        else:
            lengths = _LATER_LENGTHS if cues is not _NO_CUES else _DEEP_LENGTHS
            if ends[n] - ends[i] < 9:
                return  # no later window is long enough
        a = ends[i]
        for j in range(i, min(n, i + MAX_GROUPS)):
            length = ends[j + 1] - a
            if length > MAX_DIGITS + 2:
                break
            if glued and j == n - 1:
                break
            if length not in lengths and not (
                (i == 0 and (plus or (j == 3 and n == 4)))
                or (length >= 9 and digits_of.startswith("00", a))  # +CC written 00CC
            ):
                continue  # no identifier, card, phone or address has this many digits
            start, end = spans[i][0], spans[j][1]
            if i == 0 and plus:
                start = text.rfind("+", 0, start + 1)
            found = _check(
                text,
                start,
                end,
                digits_of[a : a + length],
                spans[i : j + 1],
                cues,
                plus and i == 0,
                i,
                j == n - 1,
            )
            if found is not None:
                yield found


def _check(
    text: str,
    start: int,
    end: int,
    digits: str,
    window: list[tuple[int, int, str]],
    cues: LazyCues,
    plus: bool,
    first: int,
    last: bool,
) -> Finding | None:
    """One window (the groups ``window``, from group ``first``) of a run; ``last``: it ends
    where the run ends."""
    whole = first == 0 and last
    n = len(digits)
    if plus or digits.startswith("00"):
        intl = digits if plus else digits[2:]
        ok, country = _international(intl)
        if ok and (plus or _calling_code(intl) is not None):
            return Finding("phone", start, end, text[start:end], country, None, PATTERN)
        if plus:
            return None
    if whole and len(window) == 4 and _is_ipv4(_groups(window), _seps(text, window)):
        return Finding("ip_address", start, end, text[start:end], None, "ipaddress", STRONG)
    rules = RULES.get(n, ())
    # an identifier announced by its cue ("SIRET 363 343 336 00246") beats a card look-alike
    for rule in rules:
        if rule.cue is not None and rule.cue in cues and rule.module(digits):
            return _id_finding(rule, text, start, end, digits)
    if 14 <= n <= 19 and _uniform(_seps(text, window)) and is_card(digits):
        return Finding("payment_card", start, end, text[start:end], None, "luhn+iin", STRONG)
    for rule in rules:
        if rule.cue is None and rule.module(digits):
            return _id_finding(rule, text, start, end, digits)
    if first:
        return None  # phones start where the run starts
    if 8 <= n <= 13 and not _is_date(window) and "phone" in cues:
        return Finding("phone", start, end, text[start:end], None, None, WEAK)
    if (
        9 <= n <= 12
        and digits[0] == "0"
        and _national_phone_shape(_groups(window), _seps(text, window))
    ):
        return Finding("phone", start, end, text[start:end], None, None, WEAK)
    return None


def _is_date(window: list[tuple[int, int, str]]) -> bool:
    """``2025-05-26``, ``26.05.2025``, ``26/05/2025``: a date, not a phone number (this skips
    the cue lookup that the dates of every business text would otherwise cost)."""
    if len(window) != 3:
        return False
    a, b, c = (d for _, _, d in window)
    if len(a) == 4:
        year, month, day = a, b, c
    elif len(c) == 4:
        year, month, day = c, b, a
    else:
        return False
    return (
        year[:2] in ("19", "20")
        and len(month) == 2
        and len(day) == 2
        and "01" <= month <= "12"
        and "01" <= day <= "31"
    )


def _groups(window: list[tuple[int, int, str]]) -> list[str]:
    return [d for _, _, d in window]


def _seps(text: str, window: list[tuple[int, int, str]]) -> list[str]:
    """The separators between the groups of a window."""
    return [text[window[k - 1][1] : window[k][0]] for k in range(1, len(window))]


def _id_finding(rule: IdRule, text: str, start: int, end: int, digits: str) -> Finding:
    kind = rule.type
    if rule.country == "PT" and digits[0] not in "123":
        kind = "company_id"  # a Portuguese NIF of a company (NIPC)
    return Finding(kind, start, end, text[start:end], rule.country, rule.validator, STRONG)


def _national_phone_shape(groups: list[str], seps: list[str]) -> bool:
    """A national number written as people write phone numbers (no cue needed):
    ``06 12 34 56 78``, ``030 1234567``, ``0171/1234567``, ``06-12345678``, ``070-123 45 67``.
    Reference-like shapes are refused: ``066 577 008`` (3-3-3), ``03-952-063-54``."""
    if len(groups) < 2 or any("\n" in s for s in seps) or not _uniform(seps[1:]):
        return False
    if "-" in seps[1:] or len(groups[0]) > 5:
        return False
    return not (len(groups) == 3 and all(len(g) == 3 for g in groups))
