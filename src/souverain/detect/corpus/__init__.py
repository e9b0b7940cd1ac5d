"""Seeded test and benchmark corpora for the detectors (never imported by the gateway).

    samples = pii_corpus(1000, seed=1)        # Sample(text, language, planted=(Planted...))
    clean = clean_corpus(1000, seed=1)        # list[str]

- :mod:`.pii`: EU-language texts with planted sensitive values at known offsets;
- :mod:`.clean`: PII-free business texts, for false-positive measurement;
- :mod:`.values`: one valid random value per identifier kind, in real-world spellings;
- :mod:`.identifiers`: valid national identifiers built from a person's details, shared with the
  bench-suite generator (``scripts/generate_suites.py``).
"""

from souverain.detect.corpus.clean import clean_corpus
from souverain.detect.corpus.pii import KINDS, LANGS, MARKERS, Kind, Planted, Sample, pii_corpus

__all__ = ["KINDS", "LANGS", "MARKERS", "Kind", "Planted", "Sample", "clean_corpus", "pii_corpus"]
