"""Machine-readable zones of passports and ID cards (ICAO 9303 TD1, TD2, TD3), check digits
verified. The finding spans the whole zone (its first line holds the holder's name)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from souverain.detect.finding import Finding

MRZ_FINDING_CONFIDENCE = 4
_LINES_RE = re.compile(
    r"(?m)^[ \t]*((?:[A-Z0-9<]{30}|[A-Z0-9<]{36}|[A-Z0-9<]{44})[ \t]*(?:\r?\n|$)){2,3}"
)
_LINE_RE = re.compile(r"[A-Z0-9<]{30,44}")
_WEIGHTS = (7, 3, 1)


def _value(c: str) -> int:
    if c.isdigit():
        return int(c)
    if c == "<":
        return 0
    return ord(c) - 55  # A=10


def check_digit(field: str) -> str:
    return str(sum(_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(field)) % 10)


def _ok(field: str, digit: str) -> bool:
    return check_digit(field) == digit or (digit == "<" and set(field) <= {"<"})


def valid_td3(l1: str, l2: str) -> bool:  # passports: 2 x 44
    return (
        l1[0] == "P"
        and _ok(l2[0:9], l2[9])
        and _ok(l2[13:19], l2[19])
        and _ok(l2[21:27], l2[27])
        and _ok(l2[0:10] + l2[13:20] + l2[21:43], l2[43])
    )


def valid_td2(l1: str, l2: str) -> bool:  # 2 x 36
    return (
        _ok(l2[0:9], l2[9])
        and _ok(l2[13:19], l2[19])
        and _ok(l2[21:27], l2[27])
        and _ok(l2[0:10] + l2[13:20] + l2[21:35], l2[35])
    )


def valid_td1(l1: str, l2: str, l3: str) -> bool:  # ID cards: 3 x 30
    return (
        _ok(l1[5:14], l1[14])
        and _ok(l2[0:6], l2[6])
        and _ok(l2[8:14], l2[14])
        and _ok(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29])
    )


def detect_mrz(text: str) -> Iterator[Finding]:
    if "<<" not in text:
        return
    for m in _LINES_RE.finditer(text):
        lines = [(x.start(), x.end(), x.group()) for x in _LINE_RE.finditer(text, *m.span())]
        if len(lines) < 2 or len({len(v) for _, _, v in lines}) != 1:
            continue
        size = len(lines[0][2])
        vals = [v for _, _, v in lines]
        ok = (
            (size == 44 and len(vals) == 2 and valid_td3(*vals))
            or (size == 36 and len(vals) == 2 and valid_td2(*vals))
            or (size == 30 and len(vals) == 3 and valid_td1(*vals))
        )
        if ok:
            start, end = lines[0][0], lines[-1][1]
            yield Finding(
                "mrz", start, end, text[start:end], None, "icao9303", MRZ_FINDING_CONFIDENCE
            )
