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
    "it_cf": (
        "codice fiscale",
        "cod. fisc",
        "cod.fisc",
        "c.f.",
        "cf",
        "partita iva",
        "p.iva",
        "p. iva",
        "piva",
        "p.i.",
    ),
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
# All cue words in one pattern (a context is read once, whichever kinds are asked about): a
# match is a word start followed by a cue word; which kinds it is, the word says.
_ANY_RE = _cue_regex(w for words in CUES.values() for w in words)
_KINDS_OF: dict[str, frozenset[str]] = {}
for _kind, _words in CUES.items():
    for _w in _words:
        _KINDS_OF[_w] = _KINDS_OF.get(_w, frozenset()) | {_kind}

CONTEXT_CHARS = 64


def _kinds_in(lowered: str) -> frozenset[str]:
    found: frozenset[str] = frozenset()
    for m in _ANY_RE.finditer(lowered):
        # the trie matched the longest cue word here; shorter ones that are prefixes of it
        # ("tel" in "telefon") are cues too
        word = m.group()
        found |= _KINDS_OF.get(word, frozenset())
        for k in range(1, len(word)):
            found |= _KINDS_OF.get(word[:k], frozenset())
    return found


class LazyCues:
    """The cues of a context, looked up only if a candidate asks (most never do).

    ``context`` is the text, or a function that returns it (called once, on the first ask).
    """

    __slots__ = ("_context", "_kinds")

    def __init__(self, context: str | Callable[[], str]):
        self._context = context
        self._kinds: frozenset[str] | None = None

    def __contains__(self, kind: object) -> bool:
        if self._kinds is None:
            context = self._context if isinstance(self._context, str) else self._context()
            self._kinds = _kinds_in(context.lower()) if context else frozenset()
        return kind in self._kinds


def cues_in(context: str) -> frozenset[str]:
    """Every cue kind found in ``context`` (the text just before a candidate)."""
    return _kinds_in(context.lower())
