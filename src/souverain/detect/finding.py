"""The :class:`Finding` record: one detected value, its type and where it is in the text."""

from __future__ import annotations

from dataclasses import dataclass, field

# Public finding types (the JSON output of `souverain scan` and the ledger's data_types use them).
FINDING_TYPES: tuple[str, ...] = (
    "email",
    "phone",
    "ip_address",
    "iban",
    "payment_card",
    "vat_id",
    "mrz",
    "national_id",
    "company_id",
    "secret",
    "confidential_marker",
    "person_name",
)

CATEGORIES: tuple[str, ...] = ("personal_data", "secret", "confidential", "media")

#: ``media`` is not detected in text: the content policy counts one per image, audio, file or
#: data URL of a request (content no scanner can read)
_CATEGORY = {"secret": "secret", "confidential_marker": "confidential", "media": "media"}

# How much a finding is trusted when two findings overlap: validated and specific wins.
STRONG = 3  # checksum / structure validated (stdnum, Luhn+IIN, MRZ check digits, ipaddress)
PATTERN = 2  # a distinctive pattern without checksum (email, secret formats, phone with "+")
WEAK = 1  # heuristics (national phone numbers, names, confidential markers)


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected value. ``text`` is the matched value: keep it in memory, never log it."""

    type: str
    start: int
    end: int
    text: str = field(repr=False)
    country: str | None = None
    validator: str | None = None
    confidence: int = field(default=STRONG, compare=False)
    #: the value as the detectors saw it, in the normalised view (``text`` is the original
    #: spelling); None when both are the same
    normal: str | None = field(default=None, repr=False, compare=False)

    @property
    def value(self) -> str:
        """The normalised value (fullwidth, invisible characters and odd spaces undone)."""
        return self.text if self.normal is None else self.normal

    @property
    def category(self) -> str:
        """``personal_data``, ``secret``, ``confidential`` or ``media`` (what a use case's policy
        acts on)."""
        return _CATEGORY.get(self.type, "personal_data")

    def to_dict(self, *, with_text: bool = False) -> dict[str, object]:
        """The JSON shape used by ``souverain scan --format json`` (no value unless asked)."""
        out: dict[str, object] = {
            "type": self.type,
            "start": self.start,
            "end": self.end,
            "category": self.category,
        }
        if self.country:
            out["country"] = self.country
        if self.validator:
            out["validator"] = self.validator
        if with_text:
            out["text"] = self.text
        return out


def resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Keep one finding per span: the most trusted, then the longest, then the earliest.

    Linear in the findings' total length (plus a sort): most lists have no overlap at all and
    are returned sorted; otherwise a coverage map of the spans already kept answers "does this
    one overlap a kept one" without comparing it to every kept span."""
    if len(findings) < 2:
        return sorted(findings, key=lambda f: f.start)
    by_start = sorted(findings, key=lambda f: (f.start, f.end))
    reach = -1
    for f in by_start:
        if f.start < reach:
            break
        reach = max(reach, f.end)
    else:
        return by_start
    ranked = sorted(findings, key=lambda f: (-f.confidence, f.start - f.end, f.start))
    low = by_start[0].start
    covered = bytearray(max(f.end for f in findings) - low)
    kept: list[Finding] = []
    for f in ranked:
        a, b = f.start - low, f.end - low
        if b > a:
            if covered.find(1, a, b) >= 0:
                continue
            covered[a:b] = b"\x01" * (b - a)
        kept.append(f)
    kept.sort(key=lambda f: f.start)
    return kept
