"""Detection benchmark: recall per data type, false positives per 1,000 PII-free business texts
and scan time per KB, side by side with Microsoft Presidio's pattern recognizers when
``presidio-analyzer`` is importable (no spaCy model: the recognizers are called directly).

    .venv/bin/python bench/scan_bench.py [--n 2000] [--clean 1000] [--seed 1]

Targets: recall >= 99.5% on checksum-valid identifiers, <= 1 false positive per 1,000 clean
texts, scan p50 <= 0.3 ms per KB.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from souverain.detect import Scanner
from souverain.detect.corpus import MARKERS, clean_corpus, pii_corpus

CHECKSUM_KINDS = {
    "fr_nir", "fr_siren", "fr_siret", "de_idnr", "it_cf", "es_dni", "es_nie", "nl_bsn", "be_nn",
    "pl_pesel", "at_vnr", "pt_nif", "pt_cc", "se_pnr", "dk_cpr", "fi_hetu", "iban", "card",
    "vat", "mrz",
}  # fmt: skip
PRESIDIO_TYPES = {
    "EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone", "IP_ADDRESS": "ip_address",
    "IBAN_CODE": "iban", "CREDIT_CARD": "payment_card", "IT_VAT_CODE": "vat_id",
    "DE_VAT_ID": "vat_id", "SE_ORGANISATIONSNUMMER": "company_id",
}  # fmt: skip
PRESIDIO_RECOGNIZERS = (
    "EmailRecognizer", "IpRecognizer", "IbanRecognizer", "CreditCardRecognizer",
    "EsNieRecognizer", "EsNifRecognizer", "EsPassportRecognizer",
    "FiPersonalIdentityCodeRecognizer", "ItFiscalCodeRecognizer", "ItVatCodeRecognizer",
    "ItIdentityCardRecognizer", "ItPassportRecognizer", "PlPeselRecognizer",
    "SePersonnummerRecognizer", "SeOrganisationsnummerRecognizer", "DeTaxIdRecognizer",
    "DeVatIdRecognizer", "DeSocialSecurityRecognizer", "DeIdCardRecognizer",
    "DePassportRecognizer",
)  # fmt: skip

Span = tuple[str, int, int]  # (our type, start, end)


def ours(scanner: Scanner) -> Callable[[str], list[Span]]:
    return lambda text: [(f.type, f.start, f.end) for f in scanner.scan(text)]


def presidio(threshold: float) -> Callable[[str], list[Span]] | None:
    try:
        import presidio_analyzer.predefined_recognizers as pr
    except ImportError:
        return None
    import logging

    logging.getLogger("tldextract").setLevel(logging.CRITICAL)  # it tries to fetch a list
    recognizers: list[Any] = [getattr(pr, name)() for name in PRESIDIO_RECOGNIZERS]
    regions = ("FR", "DE", "IT", "ES", "NL", "BE", "PL", "PT", "AT", "SE", "DK", "FI", "GB")
    recognizers.append(pr.PhoneRecognizer(supported_regions=regions))

    def run(text: str) -> list[Span]:
        out = []
        for r in recognizers:
            for res in r.analyze(text, r.supported_entities, None) or ():
                if res.score >= threshold:
                    out.append(
                        (PRESIDIO_TYPES.get(res.entity_type, "national_id"), res.start, res.end)
                    )
        return out

    return run


def recall(detect: Callable[[str], list[Span]], samples: list[Any]) -> dict[str, tuple[int, int]]:
    hit: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for s in samples:
        found = detect(s.text)
        for p in s.planted:
            key = p.kind if p.labelled or p.kind in ("marker",) else f"{p.kind} (no label)"
            total[key] += 1
            hit[key] += any(t == p.type and a < p.end and p.start < b for t, a, b in found)
    return {k: (hit[k], total[k]) for k in total}


def false_positives(detect: Callable[[str], list[Span]], texts: list[str]) -> Counter[str]:
    fp: Counter[str] = Counter()
    for t in texts:
        for kind, _, _ in detect(t):
            fp[kind] += 1
    return fp


def timing(detect: Callable[[str], Any], texts: list[str], repeat: int = 3) -> tuple[float, float]:
    per_kb = []
    for t in texts:
        best = min(_once(detect, t) for _ in range(repeat))
        per_kb.append(best * 1000 / (len(t) / 1000))
    per_kb.sort()
    return statistics.median(per_kb), per_kb[int(len(per_kb) * 0.99) - 1]


def _once(detect: Callable[[str], Any], text: str) -> float:
    t0 = time.perf_counter()
    detect(text)
    return time.perf_counter() - t0


def prompts(samples: list[Any], clean: list[str], n: int, seed: int) -> list[str]:
    """~1-2 KB prompts: business text with a few planted values, as a user would paste."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts: list[str] = []
        while sum(map(len, parts)) < 1000:
            parts.append(rng.choice(clean) if rng.random() < 0.7 else rng.choice(samples).text)
        out.append("\n\n".join(parts))
    return out


def pct(hit: int, total: int) -> str:
    return f"{100 * hit / total:6.2f}%" if total else "     -"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="texts with planted values")
    ap.add_argument("--clean", type=int, default=1000, help="PII-free business texts")
    ap.add_argument("--prompts", type=int, default=300, help="~1 KB prompts for timing")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--presidio-threshold", type=float, default=0.0)
    args = ap.parse_args()

    samples = pii_corpus(args.n, seed=args.seed) + pii_corpus(
        args.n // 4, seed=args.seed + 1, bare=True
    )
    clean = clean_corpus(args.clean, seed=args.seed + 2)
    timed = prompts(samples, clean, args.prompts, args.seed + 3)
    scanner = Scanner(MARKERS)
    tools: dict[str, Callable[[str], list[Span]]] = {"souverain": ours(scanner)}
    p = presidio(args.presidio_threshold)
    if p is None:
        print("presidio not installed (pip install presidio-analyzer to compare)")
    else:
        tools["presidio"] = p
    rec = {name: recall(fn, samples) for name, fn in tools.items()}
    fps = {name: false_positives(fn, clean) for name, fn in tools.items()}
    times = {name: timing(fn, timed) for name, fn in tools.items()}
    dense = {name: timing(fn, [s.text for s in samples[:300]], 1) for name, fn in tools.items()}

    names = list(tools)
    print(
        f"\nRecall per kind ({len(samples)} texts, {sum(len(s.planted) for s in samples)} values)"
    )
    print(f"{'kind':28s}" + "".join(f"{n:>12s}" for n in names) + "       n")
    keys = sorted(rec["souverain"], key=lambda k: (k.endswith(")"), k))
    for k in keys:
        total = rec["souverain"][k][1]
        print(
            f"{k:28s}"
            + "".join(f"{pct(*rec[n].get(k, (0, total))):>12s}" for n in names)
            + f"{total:8d}"
        )
    for label, sel in (
        ("checksum-valid ids (labelled)", lambda k: k in CHECKSUM_KINDS),
        (
            "checksum-valid ids (no label)",
            lambda k: k.split(" ")[0] in CHECKSUM_KINDS and k.endswith(")"),
        ),
    ):
        row = []
        for n in names:
            h = sum(v[0] for k, v in rec[n].items() if sel(k))
            t = sum(rec["souverain"][k][1] for k in rec["souverain"] if sel(k))
            row.append(pct(h, t))
        print(f"{label:28s}" + "".join(f"{r:>12s}" for r in row))
    print(f"\nFalse positives per 1,000 clean business texts ({len(clean)} texts, 7 languages)")
    for n in names:
        total = sum(fps[n].values())
        print(f"  {n:12s} {1000 * total / len(clean):8.1f}   {dict(fps[n].most_common(6))}")
    print(
        f"\nScan time per KB ({len(timed)} prompts of ~1-2 KB; dense: 300 short texts full of values)"
    )
    print(f"  {'':12s} {'p50 ms/KB':>10s} {'p99 ms/KB':>10s} {'dense p50':>10s}")
    for n in names:
        print(f"  {n:12s} {times[n][0]:10.3f} {times[n][1]:10.3f} {dense[n][0]:10.3f}")
    if "presidio" in tools:
        print(
            f"\n  speed ratio presidio/souverain (p50): {times['presidio'][0] / times['souverain'][0]:.1f}x"
        )


if __name__ == "__main__":
    main()
