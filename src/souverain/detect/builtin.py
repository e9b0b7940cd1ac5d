"""The built-in detectors, by name (loaded by the registry when a scanner is first built)."""

from __future__ import annotations

from souverain.detect.alnum import detect_alnum
from souverain.detect.contact import detect_email, detect_ipv6
from souverain.detect.markers import MarkerDetector
from souverain.detect.mrz import detect_mrz
from souverain.detect.names import NameDetector
from souverain.detect.numbers import detect_numbers
from souverain.detect.options import DetectorFactory, ScannerOptions
from souverain.detect.secrets import detect_secrets


def _markers(options: ScannerOptions) -> MarkerDetector | None:
    return MarkerDetector(options.confidential_markers) if options.confidential_markers else None


def _names(options: ScannerOptions) -> NameDetector | None:
    return NameDetector() if options.names else None


BUILTIN: dict[str, DetectorFactory] = {
    "secrets": lambda options: detect_secrets,
    "mrz": lambda options: detect_mrz,
    "email": lambda options: detect_email,
    "ipv6": lambda options: detect_ipv6,
    "alnum_ids": lambda options: detect_alnum,
    "numbers": lambda options: detect_numbers,
    "confidential_markers": _markers,
    "person_names": _names,
}
