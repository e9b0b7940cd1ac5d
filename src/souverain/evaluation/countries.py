"""Country names and nationality adjectives in the suites' languages, mapped to ISO 3166 codes.

One table serves both sides: the suite generator writes a client's nationality in the document's
language from it ("de nationalité allemande"), and the ``country`` field normaliser of the
``json_fields`` scorer maps whatever a model answers ("DE", "German", "allemande", "Deutschland")
back to the code. Forms are stored folded (lower case, no accents), see :func:`fold`.
"""

from __future__ import annotations

import re
import unicodedata

# code -> language -> (adjective used in documents, other accepted forms...)
NATIONALITY: dict[str, dict[str, tuple[str, ...]]] = {
    "FR": {
        "fr": ("française", "français", "france"),
        "de": ("französisch", "französin", "franzose", "frankreich"),
        "it": ("francese", "francia"),
        "es": ("francesa", "francés", "francia"),
        "nl": ("Frans", "Franse", "frankrijk"),
        "pl": ("francuskie", "francuska", "francuski", "francja"),
        "en": ("French", "france"),
    },
    "DE": {
        "fr": ("allemande", "allemand", "allemagne"),
        "de": ("deutsch", "deutsche", "deutscher", "deutschland"),
        "it": ("tedesca", "tedesco", "germania"),
        "es": ("alemana", "alemán", "alemania"),
        "nl": ("Duits", "Duitse", "duitsland"),
        "pl": ("niemieckie", "niemiecka", "niemiecki", "niemcy"),
        "en": ("German", "germany"),
    },
    "IT": {
        "fr": ("italienne", "italien", "italie"),
        "de": ("italienisch", "italienerin", "italiener", "italien"),
        "it": ("italiana", "italiano", "italia"),
        "es": ("italiana", "italiano", "italia"),
        "nl": ("Italiaans", "Italiaanse", "italie"),
        "pl": ("włoskie", "włoska", "włoski", "włochy"),
        "en": ("Italian", "italy"),
    },
    "ES": {
        "fr": ("espagnole", "espagnol", "espagne"),
        "de": ("spanisch", "spanierin", "spanier", "spanien"),
        "it": ("spagnola", "spagnolo", "spagna"),
        "es": ("española", "español", "espana"),
        "nl": ("Spaans", "Spaanse", "spanje"),
        "pl": ("hiszpańskie", "hiszpańska", "hiszpański", "hiszpania"),
        "en": ("Spanish", "spain"),
    },
    "NL": {
        "fr": ("néerlandaise", "néerlandais", "pays-bas", "pays bas"),
        "de": ("niederländisch", "niederländerin", "niederländer", "niederlande"),
        "it": ("olandese", "paesi bassi"),
        "es": ("neerlandesa", "neerlandés", "holandesa", "holandés", "paises bajos"),
        "nl": ("Nederlands", "Nederlandse", "nederland"),
        "pl": ("holenderskie", "holenderska", "holenderski", "holandia"),
        "en": ("Dutch", "netherlands", "the netherlands"),
    },
    "PL": {
        "fr": ("polonaise", "polonais", "pologne"),
        "de": ("polnisch", "polin", "pole", "polen"),
        "it": ("polacca", "polacco", "polonia"),
        "es": ("polaca", "polaco", "polonia"),
        "nl": ("Pools", "Poolse", "polen"),
        "pl": ("polskie", "polska", "polski"),
        "en": ("Polish", "poland"),
    },
    "BE": {
        "fr": ("belge", "belgique"),
        "de": ("belgisch", "belgierin", "belgier", "belgien"),
        "it": ("belga", "belgio"),
        "es": ("belga", "bélgica"),
        "nl": ("Belgisch", "Belgische", "belgie"),
        "pl": ("belgijskie", "belgijska", "belgijski", "belgia"),
        "en": ("Belgian", "belgium"),
    },
    "PT": {
        "fr": ("portugaise", "portugais", "portugal"),
        "de": ("portugiesisch", "portugiesin", "portugiese", "portugal"),
        "it": ("portoghese", "portogallo"),
        "es": ("portuguesa", "portugués", "portugal"),
        "nl": ("Portugees", "Portugese", "portugal"),
        "pl": ("portugalskie", "portugalska", "portugalski", "portugalia"),
        "en": ("Portuguese", "portugal"),
    },
}

# ISO 3166 alpha-3 codes also name nationalities (ID cards, passports)
ALPHA3 = {"FR": "FRA", "DE": "DEU", "IT": "ITA", "ES": "ESP", "NL": "NLD", "PL": "POL"}
ALPHA3 |= {"BE": "BEL", "PT": "PRT"}


def fold(text: str) -> str:
    """Case, accents and whitespace folded: ``"  Née  à Zürich"`` -> ``"nee a zurich"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    stripped = stripped.replace("ł", "l").replace("Ł", "L").replace("ß", "ss")
    return re.sub(r"\s+", " ", stripped.casefold()).strip()


def _index() -> dict[str, str]:
    out: dict[str, str] = {}
    for code, langs in NATIONALITY.items():
        out[code.lower()] = code
        out[ALPHA3[code].lower()] = code
        for forms in langs.values():
            for form in forms:
                out[fold(form)] = code
    return out


_FORMS = _index()


def country_code(text: str) -> str | None:
    """The ISO alpha-2 code a nationality or country spelling names, else ``None``."""
    key = fold(text).strip(" .,;:()\"'")
    return _FORMS.get(key)


def nationality_word(code: str, lang: str) -> str:
    """How a document in ``lang`` writes the nationality ``code`` (first form of the table)."""
    return NATIONALITY[code][lang][0]
