"""Context cues: the words that, just before a number, say what kind of number it is.

Identifiers whose checksum lets ~1 random number in 10 pass (SIREN, BSN, NIF, PESEL, ...) are
only reported when such a cue is close before them; otherwise every order number would be a
suspect. Cues are matched on word starts, case-insensitively, in every EU language we ship.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

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
        "bellen",
        "zadzwoń",
        "komórk",
        "nr tel",
        "call",
    ),
}

_Trie = dict[str, "_Trie"]


def word_trie(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, as a trie (``tel(?:efon|...)?``): at each position the
    engine tries one branch per distinct next character instead of every word in turn."""
    root: _Trie = {}
    for w in words:
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: _Trie) -> str:
        alts = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = "(?:" + "|".join(alts) + ")" if len(alts) > 1 or "" in node else alts[0]
        return body + "?" if "" in node else body

    return emit(root)


def _cue_regex(words: Iterable[str]) -> re.Pattern[str]:
    words = tuple(words)
    firsts = "".join(sorted({re.escape(w[0]) for w in words}))
    # the lookahead on first letters lets the engine skip most positions before the lookbehind
    return re.compile(rf"(?=[{firsts}])(?<![^\W\d_])" + word_trie(words))


_KIND_RE = {kind: _cue_regex(words) for kind, words in CUES.items()}

CONTEXT_CHARS = 64


class LazyCues:
    """The cues of a context, looked up per kind only if a candidate asks (most never do).

    ``context`` is the text, or a function that returns it (called once, on the first ask).
    """

    __slots__ = ("_context", "_seen")

    def __init__(self, context: str | Callable[[], str]):
        self._context = context
        self._seen: dict[str, bool] = {}

    def __contains__(self, kind: object) -> bool:
        assert isinstance(kind, str)
        hit = self._seen.get(kind)
        if hit is None:
            if not isinstance(self._context, str):
                self._context = self._context()
            if not self._seen:
                self._context = self._context.lower()
            hit = self._seen[kind] = _KIND_RE[kind].search(self._context) is not None
        return hit


def cues_in(context: str) -> frozenset[str]:
    """Every cue kind found in ``context`` (the text just before a candidate)."""
    lowered = context.lower()
    return frozenset(k for k, rx in _KIND_RE.items() if rx.search(lowered))
