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

CATEGORIES: tuple[str, ...] = ("personal_data", "secret", "confidential")

_CATEGORY = {"secret": "secret", "confidential_marker": "confidential"}

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

    @property
    def category(self) -> str:
        """``personal_data``, ``secret`` or ``confidential`` (what a use case's policy acts on)."""
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
    """Keep one finding per span: the most trusted, then the longest, then the earliest."""
    if len(findings) < 2:
        return sorted(findings, key=lambda f: f.start)
    ranked = sorted(findings, key=lambda f: (-f.confidence, f.start - f.end, f.start))
    kept: list[Finding] = []
    taken: list[tuple[int, int]] = []
    for f in ranked:
        if any(f.start < e and s < f.end for s, e in taken):
            continue
        kept.append(f)
        taken.append((f.start, f.end))
    kept.sort(key=lambda f: f.start)
    return kept
