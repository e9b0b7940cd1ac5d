"""Local, fast, validated detection of personal data, secrets and confidential text.

    scanner = Scanner(confidential_markers=["strictement confidentiel", "re:PRJ-\\d{4}"])
    for f in scanner.scan(text):
        f.type, f.start, f.end, f.country, f.validator, f.category

See docs/detection.md for the types, their validators and the measured recall.
"""

from souverain.detect.finding import CATEGORIES, FINDING_TYPES, Finding, resolve_overlaps
from souverain.detect.registry import (
    Detector,
    DetectorFactory,
    ScannerOptions,
    detector_factories,
    register_detector,
    unregister_detector,
)
from souverain.detect.scanner import Scanner

__all__ = [
    "CATEGORIES",
    "FINDING_TYPES",
    "Detector",
    "DetectorFactory",
    "Finding",
    "Scanner",
    "ScannerOptions",
    "detector_factories",
    "register_detector",
    "resolve_overlaps",
    "unregister_detector",
]
