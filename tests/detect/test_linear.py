"""The fast paths give the results of the plain ones (timings are in bench/hostile_bench.py, not
in tests): the bulk filter of deep digit-run windows, the linear overlap resolution, and the
hostile shapes scan to the same findings as their slices."""

from __future__ import annotations

import random
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from souverain.detect import Finding, Scanner, numbers, resolve_overlaps

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from hostile_bench import SHAPES


def _python_deep(text: str, runs: list) -> object:  # type: ignore[type-arg]
    """The windows past SHALLOW_GROUPS checked one by one (the reference)."""
    for start, end, glued, _ in runs:
        spans = [numbers._span(g) for g in numbers._DIGITS_RE.finditer(text, start, end)]
        deep = range(numbers.SHALLOW_GROUPS, len(spans))
        yield from numbers._windows(text, spans, numbers._NO_CUES, False, glued, deep, True)


def _key(found: list[Finding]) -> list[tuple[object, ...]]:
    return sorted((f.start, f.end, f.type, f.country, f.validator) for f in resolve_overlaps(found))


SEPS = [" ", " ", "-", ".", "/", " / ", "\n", " - ", "+"]
PLANTS = ["4111 1111 1111 1111", "2 95 10 99 126 111 93", "36574261809", "0033 6 12 34 56 78"]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_bulk_deep_windows_equal_the_python_checks(seed: int) -> None:
    rng = random.Random(seed)
    parts = []
    for _ in range(rng.randint(30, 90)):
        parts.append(
            "".join(rng.choice("00000123456789") for _ in range(rng.choice((1, 1, 2, 3, 4))))
        )
        parts.append(rng.choice(SEPS))
        if rng.random() < 0.05:
            parts.append(rng.choice(PLANTS) + rng.choice(SEPS))
    text = "ref " + "".join(parts) + rng.choice(["", "x", " fin"])
    bulk = list(numbers.detect_numbers(text))
    original = numbers._deep
    numbers._deep = _python_deep  # type: ignore[assignment]
    try:
        reference = list(numbers.detect_numbers(text))
    finally:
        numbers._deep = original  # type: ignore[assignment]
    assert _key(bulk) == _key(reference)


def _quadratic_resolve(findings: list[Finding]) -> list[Finding]:
    """The former implementation (each candidate compared with every kept span)."""
    ranked = sorted(findings, key=lambda f: (-f.confidence, f.start - f.end, f.start))
    kept: list[Finding] = []
    for f in ranked:
        if any(f.start < k.end and k.start < f.end for k in kept):
            continue
        kept.append(f)
    return sorted(kept, key=lambda f: f.start)


spans = st.lists(st.tuples(st.integers(0, 60), st.integers(1, 15), st.integers(1, 5)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(spans=spans)
def test_linear_overlap_resolution_equals_the_pairwise_one(
    spans: list[tuple[int, int, int]],
) -> None:
    found = [Finding("email", s, s + n, "x" * n, confidence=c) for s, n, c in spans]
    assert resolve_overlaps(found) == _quadratic_resolve(found)


def test_hostile_shapes_give_the_findings_of_their_halves() -> None:
    """A 20 KB hostile text has, away from the cut, the findings of its two 10 KB halves (no
    detector gives up or changes its mind on long inputs)."""
    scanner = Scanner(["strictement confidentiel", r"re:\bPRJ-\d{4}\b"])
    for name, make in SHAPES.items():
        text = make(20_000)
        whole = [(f.start, f.end, f.type) for f in scanner.scan(text)]
        margin = 200
        left = [
            (f.start, f.end, f.type)
            for f in scanner.scan(text[:10_000])
            if f.end < 10_000 - margin and f.start > margin
        ]
        inner = [x for x in whole if x[1] < 10_000 - margin and x[0] > margin]
        assert inner == left, name
        for f in scanner.scan(text):
            assert 0 <= f.start < f.end <= len(text) and text[f.start : f.end] == f.text
