"""Hostile-input benchmark: the scanner's time on inputs built to make a detector backtrack or
re-scan, at 100 KB, 200 KB and 1 MB, and on clean business prompts.

    .venv/bin/python bench/hostile_bench.py [--sizes 100,200,1000] [--repeat 3] [--clean 300]

Targets (issue #11): every 1 MB hostile input scanned in <= 1 s; clean text <= 0.3 ms per KB
(p50); growth with size linear (the 1 MB time about 10x the 100 KB time, not 100x).
Times are CPU seconds of this process (``time.process_time``, best of ``--repeat``), so that
other load on a shared machine inflates them less than wall time would.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from souverain.detect import Scanner


def _digits(rng: random.Random, n: int) -> list[str]:
    return [str(rng.randrange(10)) for _ in range(n)]


def _repeat(unit: str) -> Callable[[int], str]:
    return lambda size: (unit * (size // len(unit) + 1))[:size]


def _spaced_digits(size: int) -> str:
    """Random digits, one per group: every window of 9 to 19 groups is a candidate."""
    rng = random.Random(1)
    return " ".join(_digits(rng, size // 2 + 1))[:size]


def _mixed_separators(size: int) -> str:
    """Random short digit groups joined by random separators, Unicode ones included."""
    rng = random.Random(2)
    seps = [" ", "-", ".", "/", "\t", " - ", "\u00a0", "\u2013", "\u202f", "\u2009", "\n"]
    out: list[str] = []
    total = 0
    while total < size:
        group = "".join(_digits(rng, rng.choice((1, 2, 3, 4))))
        part = group + rng.choice(seps)
        out.append(part)
        total += len(part)
    return "".join(out)[:size]


def _invisible(size: int) -> str:
    """Digits with a zero-width space or a soft hyphen after each (the normalised view's slow
    path: every character deleted)."""
    rng = random.Random(3)
    return "".join(d + rng.choice(("\u200b", "\u00ad")) for d in _digits(rng, size // 2 + 1))[:size]


SHAPES: dict[str, Callable[[int], str]] = {
    "repeated key= (password=password=...)": _repeat("password="),
    "digit run (1234567890...)": _repeat("1234567890"),
    "spaced digits (random, 1 per group)": _spaced_digits,
    "IBAN prefixes (FR76 FR76 ...)": _repeat("FR76 "),
    "@ runs (@@@@...)": _repeat("@"),
    "e-mail parts (a@a.a@a. ...)": _repeat("a@a."),
    "phone prefixes (+33 6 +33 6 ...)": _repeat("+33 6 "),
    "long word (aaaa...)": _repeat("a"),
    "capitalised words (Marie Marie ...)": _repeat("Marie "),
    "mixed separators (Unicode too)": _mixed_separators,
    "invisible characters (1\u200b2\u00ad3...)": _invisible,
    "secret prefixes (sk-sk-sk-...)": _repeat("sk-"),
    "MRZ filler (<<<<...)": _repeat("<"),
    "colons (::::...)": _repeat(":"),
}


def cpu_time(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def clean_per_kb(scanner: Scanner, n: int, repeat: int) -> tuple[float, float]:
    """p50 / p99 ms per KB on ~1-2 KB clean business prompts (the scan bench's corpus)."""
    from souverain.detect.corpus import clean_corpus

    texts = clean_corpus(n * 3, seed=21)
    prompts = ["\n\n".join(texts[i : i + 3]) for i in range(0, len(texts) - 2, 3)]
    per_kb = []
    for text in prompts:
        per_kb.append(cpu_time(lambda t=text: scanner.scan(t), repeat) * 1000 / (len(text) / 1000))
    per_kb.sort()
    return statistics.median(per_kb), per_kb[int(len(per_kb) * 0.99) - 1]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="100,200,1000", help="sizes in KB, comma-separated")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--clean", type=int, default=300, help="clean prompts to time")
    args = ap.parse_args()
    sizes = [int(s) * 1000 for s in args.sizes.split(",")]
    scanner = Scanner(["strictement confidentiel", r"re:\bPRJ-\d{4}\b"])
    scanner.scan("warm-up 06 12 34 56 78 " * 10)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; CPU seconds, best of "
        f"{args.repeat}; load average {os.getloadavg()[0]:.1f}"
    )
    head = "".join(f"{s // 1000:>8} KB" for s in sizes)
    print(f"  {'shape':42}{head}{'growth':>9}   target: 1 MB <= 1 s")
    worst = 0.0
    for name, make in SHAPES.items():
        times = []
        for size in sizes:
            text = make(size)
            times.append(cpu_time(lambda t=text: scanner.scan(t), args.repeat))
        growth = times[-1] / times[0] if times[0] > 0 else float("nan")
        worst = max(worst, times[-1])
        cells = "".join(f"{t:>9.3f}s" for t in times)
        print(f"  {name:42}{cells}{growth:>8.1f}x")
    ratio = sizes[-1] / sizes[0]
    print(f"  slowest at {sizes[-1] // 1000} KB: {worst:.3f} s; linear growth is ~{ratio:.0f}x")
    p50, p99 = clean_per_kb(scanner, args.clean, args.repeat)
    print(f"  clean prompts: p50 {p50:.3f} ms/KB, p99 {p99:.3f} ms/KB   target: p50 <= 0.3")


if __name__ == "__main__":
    main()
