"""Context cues: the words that, just before a number, say what kind of number it is.

Identifiers whose checksum lets ~1 random number in 10 pass (SIREN, BSN, NIF, PESEL, ...) are
only reported when such a cue is close before them; otherwise every order number would be a
suspect. Cues are matched on word starts, case-insensitively, in every EU language we ship.
"""

from __future__ import annotations

import re

CUES: dict[str, tuple[str, ...]] = {
    "fr_siren": ("siren", "siret", "rcs", "immatricul", "n° d'entreprise", "numéro d'entreprise"),
    "nl_bsn": ("bsn", "burgerservicenummer", "burger service nummer", "sofinummer", "sofi-nummer"),
    "pt_nif": ("nif", "contribuinte", "nipc", "n.i.f", "número fiscal", "numero fiscal"),
    "at_vnr": (
        "svnr",
        "sv-nr",
        "sv-nummer",
        "vsnr",
        "versicherungsnummer",
        "sozialversicherung",
        "e-card",
    ),
    "se_pnr": ("personnummer", "personnr", "pers.nr", "pers. nr", "persnr", "pnr", "samordningsnr"),
    "dk_cpr": ("cpr", "personnummer", "personnr", "person nr", "cpr-nr"),
    "pl_pesel": ("pesel",),
    "phone": (
        "tel",
        "tél",
        "phone",
        "telefon",
        "téléphone",
        "telefono",
        "teléfono",
        "telefone",
        "telemóvel",
        "telemovel",
        "mobil",
        "móvil",
        "movil",
        "cellulare",
        "cell",
        "handy",
        "portable",
        "gsm",
        "fax",
        "tlf",
        "puh",
        "puhelin",
        "whatsapp",
        "sms",
        "anruf",
        "rufen sie",
        "appelez",
        "chiama",
        "llame",
        "llamar",
        "ligue",
        "bel ",
        "bellen",
        "ring",
        "zadzwoń",
        "komórk",
        "nr tel",
        "call",
    ),
}

_parts = []
for _kind, _words in CUES.items():
    alts = "|".join(re.escape(w) for w in sorted(_words, key=len, reverse=True))
    _parts.append(f"(?P<{_kind}>(?<![^\\W\\d_])(?:{alts}))")
CUE_RE = re.compile("|".join(_parts), re.IGNORECASE)

CONTEXT_CHARS = 64


def cues_in(context: str) -> frozenset[str]:
    """The cue kinds found in ``context`` (the text just before a candidate)."""
    if not context:
        return frozenset()
    return frozenset(m.lastgroup for m in CUE_RE.finditer(context) if m.lastgroup)
