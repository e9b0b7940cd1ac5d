"""The windows deep inside long digit runs, filtered in bulk (numpy) before they are checked.

A run of digit groups (``12 34 56 78 ...``) may hide an identifier at any group; a window is a
sequence of consecutive groups. Windows that start at a run's first groups (phones, labelled
identifiers) are checked one by one in Python; the others can only be a payment card or an
identifier strong enough to be reported without a label (FR NIR, DE Steuer-ID, BE national
number). For those, this module computes over every window of every run at once the necessary
conditions of :func:`souverain.detect.numbers._check` (length, IIN prefix and Luhn sum, uniform
separators, the mod-97 keys, the Steuer-ID digit rule and its ISO 7064 check digit), so that
Python checks only the windows that pass. The work is linear: at most ``max_groups`` windows per
group, each tested with a fixed number of array operations.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from functools import lru_cache

import numpy as np

#: (prefix digits, low, high, lengths): the IIN ranges of :data:`souverain.detect.numbers._CARD_IIN`
CardRanges = Sequence[tuple[int, int, int, frozenset[int]]]

_DOUBLE = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.uint8)  # Luhn: 2d, digits summed


def deep_windows(
    text: str,
    runs: Sequence[tuple[int, int, bool]],
    first: int,
    max_groups: int,
    cards: CardRanges,
    calling_codes: Mapping[str, tuple[str, int, int]],
) -> Iterator[tuple[int, int, int, int, int]]:
    """``(run, i, start, end, kind)`` for every window of the runs ``(start, end, glued)`` of
    ``text`` from group ``i >= first`` (at most ``max_groups`` groups; ``start``/``end``: its
    offsets in ``text``) that may be a card, an FR NIR, a DE Steuer-ID, a BE number or an
    international phone number written with 00 (``kind``: one of the ``KIND_*`` codes, or
    ``KIND_PHONE + i`` for a phone of the ``i``-th country of ``calling_codes`` in key order).
    Each kind is checked here as fully as numbers._check would.
    ``glued``: the run's last group is glued to a letter (no window may end there).

    The runs are read as one byte array (a run holds only digits and separators, all ASCII),
    joined by NUL bytes: groups, their offsets and the separators between them are array
    operations, nothing per group in Python."""
    if not runs:
        return
    joined = "\x00".join(text[s:e] for s, e, _ in runs).encode("ascii")
    b = np.frombuffer(joined, dtype=np.uint8)
    is_digit = (b >= 48) & (b <= 57)
    before = np.concatenate(([False], is_digit[:-1]))
    after = np.concatenate((is_digit[1:], [False]))
    g_start = np.flatnonzero(is_digit & ~before)  # byte offsets of the groups
    g_end = np.flatnonzero(is_digit & ~after) + 1
    groups = len(g_start)
    if not groups:
        return
    # where each run starts in the joined bytes and in the text
    lengths = np.fromiter((e - s for s, e, _ in runs), dtype=np.int64, count=len(runs))
    run_at = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    text_at = np.fromiter((s for s, _, _ in runs), dtype=np.int64, count=len(runs))
    run_a = np.searchsorted(run_at, g_start, side="right") - 1
    index_a = np.arange(groups) - np.searchsorted(g_start, run_at)[run_a]
    last_of_run = np.concatenate((run_a[1:] != run_a[:-1], [True]))
    glued = np.fromiter((g for _, _, g in runs), dtype=bool, count=len(runs))
    glued_end = last_of_run & glued[run_a]
    offsets = np.stack((g_start, g_end), axis=1) + (text_at - run_at)[run_a][:, None]
    d = b[is_digit] - np.uint8(48)
    widths = g_end - g_start
    ends = np.cumsum(widths)
    starts = ends - widths
    seen = _separator_counts(b, g_start, g_end, last_of_run)

    # a window ends where a group ends: which group ends at each digit offset (-1: none, or
    # the group is glued to a letter); padded so that no target falls outside
    end_of = np.full(len(d) + 21, -1, dtype=np.int32)
    end_of[ends] = np.arange(groups, dtype=np.int32)
    end_of[ends[glued_end]] = -1
    run_a = run_a.astype(np.int32)
    g1 = np.flatnonzero(index_a >= first).astype(np.int32)
    at = starts[g1]
    d = np.concatenate((d, np.zeros(20, dtype=np.uint8)))  # the tail a prefix may read
    table = _iin_table(tuple(cards))
    phone_table = _calling_table(tuple(sorted(calling_codes.items())))
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (first, last group, kind)
    for n in _LENGTHS:
        g2 = end_of[at + n]
        ok = (g2 >= 0) & (g2 - g1 < max_groups)
        ok &= run_a[g2] == run_a[g1]
        wa, wb = g1[ok], g2[ok]
        if not len(wa):
            continue
        # what each window is (0: nothing), in numbers._check's order: a 00 phone first, then a
        # card, then the identifiers that need no label
        at_w = starts[wa]
        kind = np.zeros(len(wa), dtype=np.int64)
        if n == 11:
            m = d[at_w[:, None] + np.arange(n)]
            kind = np.where(_be_nn(m), KIND_BE_NN, kind)
            kind = np.where(_de_idnr(m), KIND_DE_IDNR, kind)
        elif n == 15:
            m = d[at_w[:, None] + np.arange(n)]
            kind = np.where(_fr_nir(m), KIND_FR_NIR, kind)
        if n >= 14:
            card = _card_mask(d, starts[wa], n, table)
            if card.any():
                card &= _uniform(seen, wa, wb)
                kind = np.where(card, KIND_CARD, kind)
        _phone_00(d, at_w, n, phone_table, kind)
        keep = kind > 0
        if keep.any():
            found.append((wa[keep], wb[keep], kind[keep]))
    for wa, wb, kinds_found in found:
        yield from zip(
            run_a[wa].tolist(),
            index_a[wa].tolist(),
            offsets[wa, 0].tolist(),
            offsets[wb, 1].tolist(),
            kinds_found.tolist(),
            strict=True,
        )


#: What :func:`deep_windows` says of a window.
KIND_CARD, KIND_DE_IDNR, KIND_FR_NIR, KIND_BE_NN, KIND_PHONE = 1, 2, 3, 4, 100
_LENGTHS = (9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19)
_W13 = np.array([pow(10, 12 - t, 97) for t in range(13)], dtype=np.int64)
_W9 = np.array([pow(10, 8 - t, 97) for t in range(9)], dtype=np.int64)


def _fr_nir(m: np.ndarray) -> np.ndarray:
    """Rows of 15 digits whose last two are the NIR key (97 - the first 13 mod 97): all that
    stdnum.fr.nir checks of an all-digit number."""
    s = (m[:, :13] @ _W13) % 97
    return 97 - s == m[:, 13].astype(np.int64) * 10 + m[:, 14]


def _be_nn(m: np.ndarray) -> np.ndarray:
    """What stdnum.be.nn checks of 11 digits: the key (97 - the first 9 mod 97, or with a "2"
    before them for someone born since 2000, not in the future) and a month of 0 to 12."""
    s = (m[:, :9] @ _W9) % 97
    key = m[:, 9].astype(np.int64) * 10 + m[:, 10]
    born_2000 = (s + 2 * 10**9) % 97  # the number with a "2" before it
    year = 2000 + m[:, 0].astype(np.int64) * 10 + m[:, 1]
    month = m[:, 2].astype(np.int64) * 10 + m[:, 3]
    checksum = (97 - s == key) | ((97 - born_2000 == key) & (year <= date.today().year))
    return checksum & (month <= 12) & m.any(axis=1)


def _de_idnr(m: np.ndarray) -> np.ndarray:
    check = np.full(len(m), 5, dtype=np.int16)
    for t in range(11):
        check[check == 0] = 10
        check = (check * 2 % 11 + m[:, t]) % 10
    ok = (check == 1) & (m[:, 0] != 0)
    rows = np.flatnonzero(ok)
    if len(rows):
        # in the first 10 digits one digit appears two or three times, the others at most once
        first10 = np.sort(m[rows, :10], axis=1)
        same = first10[:, 1:] == first10[:, :-1]
        runs = same.sum(axis=1)
        triple = (same[:, 1:] & same[:, :-1]).sum(axis=1)
        ok[rows] = ((runs == 1) & (triple == 0)) | ((runs == 2) & (triple == 1))
    return ok


@lru_cache(maxsize=4)
def _iin_table(cards: tuple[tuple[int, int, int, frozenset[int]], ...]) -> np.ndarray:
    """``table[n, p]``: a card of ``n`` digits may start with the 4 digits ``p``."""
    table = np.zeros((20, 10000), dtype=bool)
    p4 = np.arange(10000)
    for width, low, high, lengths in cards:
        prefix = p4 // 10 ** (4 - width)
        for n in lengths:
            table[n] |= (prefix >= low) & (prefix <= high)
    return table


def _card_mask(d: np.ndarray, at: np.ndarray, n: int, table: np.ndarray) -> np.ndarray:
    """Windows of ``n`` digits from ``at`` with a card's IIN prefix, length and Luhn sum (the
    prefix is read first, so that most windows never have their digits gathered)."""
    p4 = d[at].astype(np.int16) * 1000
    for k, weight in ((1, 100), (2, 10), (3, 1)):
        p4 += d[at + k].astype(np.int16) * weight
    iin = table[n][p4]
    rows = np.flatnonzero(iin)
    if len(rows):
        m = d[at[rows][:, None] + np.arange(n)]
        doubled = np.arange(n)[::-1] % 2 == 1  # from the right: every second digit is doubled
        total = m[:, ~doubled].sum(axis=1, dtype=np.int32)
        total += _DOUBLE[m[:, doubled]].sum(axis=1, dtype=np.int32)
        iin[rows] = total % 10 == 0
    return iin


def _separator_counts(
    b: np.ndarray, g_start: np.ndarray, g_end: np.ndarray, last_of_run: np.ndarray
) -> list[np.ndarray]:
    """Per separator kind (line breaks aside), how many gaps of that kind stand before each
    group. A gap's kind is its bytes packed in an integer (separators are a few bytes)."""
    gap_from, gap_to = g_end[:-1], g_start[1:]
    size = gap_to - gap_from
    code = np.zeros(len(gap_from), dtype=np.int64)
    for k in range(6):
        byte = b[np.minimum(gap_from + k, len(b) - 1)].astype(np.int64)
        code |= np.where(k < size, byte << (8 * k), 0)
    newlines = np.concatenate(([0], np.cumsum(b == 10)))
    ignored = last_of_run[:-1] | (newlines[gap_to] > newlines[gap_from]) | (size > 6)
    code = np.where(ignored, -1, code)
    code = np.concatenate((code, [-1]))  # no gap after the last group
    return [np.concatenate(([0], np.cumsum(code == k))) for k in np.unique(code) if k >= 0]


@lru_cache(maxsize=4)
def _calling_table(
    codes: tuple[tuple[str, tuple[str, int, int]], ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """By the 3 digits after 00: the calling code's length (0: none), the national number's
    shortest and longest length, and the finding kind (KIND_PHONE + the country's index)."""
    length = np.zeros(1000, dtype=np.int64)
    low = np.zeros(1000, dtype=np.int64)
    high = np.zeros(1000, dtype=np.int64)
    kind = np.zeros(1000, dtype=np.int64)
    by_code = dict(codes)
    for i, (code, (_, lo, hi)) in enumerate(codes):
        for p3 in range(1000):
            digits = f"{p3:03d}"
            # numbers._calling_code: the shortest code that matches wins
            first = next((w for w in (1, 2, 3) if digits[:w] in by_code), None)
            if first == len(code) and digits[: len(code)] == code:
                length[p3], low[p3], high[p3], kind[p3] = len(code), lo, hi, KIND_PHONE + i
    return length, low, high, kind


def _phone_00(
    d: np.ndarray, at: np.ndarray, n: int, table: tuple[np.ndarray, ...], kind: np.ndarray
) -> None:
    """Mark (in ``kind``) the windows of ``n`` digits written 00, a calling code and a
    national number of a length that country's numbers have (numbers._international)."""
    rows = np.flatnonzero((d[at] == 0) & (d[at + 1] == 0))
    if not len(rows):
        return
    length, low, high, phone = table
    a = at[rows]
    p3 = d[a + 2].astype(np.int64) * 100 + d[a + 3] * 10 + d[a + 4]
    nsn = n - 2 - length[p3]
    ok = (length[p3] > 0) & (low[p3] <= nsn) & (nsn <= high[p3])
    kind[rows[ok]] = phone[p3[ok]]


def _uniform(seen: list[np.ndarray], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """At most one separator kind (line breaks aside) between the groups ``a`` .. ``b``."""
    present = np.zeros(len(a), dtype=np.int64)
    for counts in seen:
        present += (counts[b] - counts[a]) > 0
    return present <= 1
