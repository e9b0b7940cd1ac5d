"""Person names, offline: the first- and last-name lists Faker ships for EU locales, plus cues.

A run of capitalised words is a name when

* a title or a label stands before it ("Mme", "Herr", "Sig.ra", "Nom :", "Name:") or a birth
  cue follows it ("né le", "geboren am", "nato il"), or
* a listed first name is followed by a listed last name or another capitalised word that is
  not a common word (or a last name is followed by a first name: "DUPONT Marie"), or
* a greeting stands before a single listed first name ("Bonjour Marie").

Common words (Faker's lorem word lists, month and day names) never count as names without a cue.
This is a heuristic: see docs/detection.md for its measured recall, and plug in an NER model
through the detector registry for more.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from functools import lru_cache

from souverain.detect.finding import WEAK, Finding

NAME_LOCALES = (
    "fr_FR", "fr_BE", "de_DE", "de_AT", "de_CH", "it_IT", "es_ES", "nl_NL", "nl_BE", "pl_PL",
    "pt_PT", "sv_SE", "da_DK", "fi_FI", "en_GB", "en_IE", "cs_CZ", "sk_SK", "hu_HU", "ro_RO",
    "hr_HR", "sl_SI", "lt_LT", "lv_LV", "et_EE", "ga_IE", "no_NO",
)  # fmt: skip
_LOREM_LOCALES = (
    "fr_FR", "de_DE", "de_AT", "it_IT", "es_ES", "nl_NL", "nl_BE", "pl_PL", "da_DK", "cs_CZ",
    "en_US", "la",
)  # fmt: skip

TITLES = frozenset(
    [
        "m",
        "mme",
        "mlle",
        "mm",
        "mmes",
        "monsieur",
        "madame",
        "mademoiselle",
        "me",
        "maître",
        "dr",
        "prof",
        "pr",
        "docteur",
        "mr",
        "mrs",
        "ms",
        "miss",
        "sir",
        "herr",
        "frau",
        "fräulein",
        "hr",
        "fr",
        "sig",
        "sig.ra",
        "sig.na",
        "signor",
        "signora",
        "signorina",
        "dott",
        "dott.ssa",
        "avv",
        "ing",
        "sr",
        "sra",
        "srta",
        "señor",
        "señora",
        "don",
        "doña",
        "dª",
        "dhr",
        "mw",
        "mevr",
        "mevrouw",
        "meneer",
        "heer",
        "pan",
        "pani",
        "fru",
        "herra",
        "rouva",
        "neiti",
        "sra.",
        "dom",
    ]
)
_LABELS = (
    r"name|full name|nom|nom complet|prénom|prénoms|nom de naissance|nombre|nombre completo|"
    r"apellidos?|nome|cognome|naam|achternaam|voornaam|navn|namn|nimi|imię(?: i nazwisko)?|"
    r"nazwisko|vorname|nachname|familienname|patient|patiente|patiënt|paciente|paziente|"
    r"assurée?|versicherte[rn]?|titulaire|inhaber(?:in)?|karteninhaber|account holder|"
    r"holder|beneficiary|bénéficiaire|begünstigter|ansprechpartner(?:in)?|contact person|"
    r"interlocuteur|attn|z\. ?hd\.?|à l'attention de|c/o|signed|signé|unterschrift|firmato|"
    r"firmado|employee|salarié|mitarbeiter(?:in)?|dipendente|empleado|werknemer"
)
_GREETINGS = (
    r"bonjour|bonsoir|salut|cher|chère|hallo|hello|hi|dear|liebe|lieber|sehr geehrte[rn]?|"
    r"ciao|caro|cara|gentile|hola|estimad[oa]|querid[oa]|beste|geachte|hej|kære|cześć|"
    r"szanown[ay]|olá|caro|hei|moi|thanks|merci|danke|grazie|gracias|bedankt|dziękuję"
)
PARTICLES = frozenset(
    [
        "van",
        "von",
        "de",
        "der",
        "den",
        "del",
        "della",
        "dello",
        "di",
        "da",
        "dos",
        "das",
        "du",
        "la",
        "le",
        "ten",
        "ter",
        "zu",
        "af",
        "y",
        "i",
    ]
)
_CAP = r"[A-ZÀ-ÖØ-ÞĀ-ſ][^\W\d_]*(?:['’\-][^\W\d_]+)*"
_PART = "|".join(sorted(PARTICLES, key=len, reverse=True))
CAPWORD_RE = re.compile(_CAP)
# in a sequence, a word glued to digits ("FR76", "A4") is not a name: possessive, so that the
# engine does not retry the word shorter
_SEQ_WORD = r"[A-ZÀ-ÖØ-ÞĀ-ſ][^\W\d_]*+(?:['’\-][^\W\d_]++)*+(?![0-9])"
SEQ_RE = re.compile(rf"{_SEQ_WORD}(?:[ \t]++(?:(?:{_PART})[ \t]+){{0,2}}{_SEQ_WORD}){{0,4}}")
_BEFORE_TITLE_RE = re.compile(
    r"(?:^|[\s(,;])(?:" + "|".join(re.escape(t) for t in sorted(TITLES, key=len, reverse=True))
    + r")\.?[ \t]+$",
    re.IGNORECASE,
)  # fmt: skip
_BEFORE_LABEL_RE = re.compile(rf"(?:^|\W)(?:{_LABELS})[ \t]*[:\-–][ \t]*(?:\r?\n)?$", re.I)
_BEFORE_GREETING_RE = re.compile(rf"(?:^|\W)(?:{_GREETINGS})[ \t]+$", re.IGNORECASE)
_AFTER_BIRTH_RE = re.compile(
    r"^[ \t]*,?[ \t]*\(?(?:née?|geb\.|geboren|nato|nata|nacid[oa]|nascid[oa]|urodzon[ay]|"
    r"född|født|syntynyt|born|date of birth|né\(e\))\b",
    re.IGNORECASE,
)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key in value:
            yield from _strings(key)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _provider(kind: str, locale: str) -> type | None:
    try:
        return importlib.import_module(f"faker.providers.{kind}.{locale}").Provider  # type: ignore[no-any-return]
    except ImportError:
        return None


@lru_cache(maxsize=1)
def name_lists() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(first names, last names, common words), lower case, from Faker's locale providers."""
    first: set[str] = set()
    last: set[str] = set()
    for locale in NAME_LOCALES:
        prov = _provider("person", locale)
        if prov is None:
            continue
        for attr in dir(prov):
            if attr.startswith(("first_name", "last_name")) and not attr.endswith("formats"):
                target = first if attr.startswith("first") else last
                for name in _strings(getattr(prov, attr)):
                    if len(name) > 1 and "{" not in name:
                        target.update(part.lower() for part in name.split() if len(part) > 1)
    common: set[str] = set()
    for locale in _LOREM_LOCALES:
        prov = _provider("lorem", locale)
        if prov is not None:
            common.update(w.lower() for w in getattr(prov, "word_list", ()) if len(w) > 1)
        dt = _provider("date_time", locale)
        if dt is not None:
            for attr in ("DAY_NAMES", "MONTH_NAMES"):
                common.update(w.lower() for w in _strings(getattr(dt, attr, {})))
                common.update(w.lower() for w in getattr(dt, attr, {}).values())
    common.update(_EXTRA_COMMON)
    return frozenset(first), frozenset(last), frozenset(common)


@lru_cache(maxsize=1)
def ambiguous_first_names() -> frozenset[str]:
    """First names that are also common words ("may", "per", "rose"): they need a cue."""
    first, _, common = name_lists()
    return frozenset((first & common) - _CLEAR_NAMES)


# Listed first names that Faker's lorem lists also hold but that are names first of all.
_CLEAR_NAMES = frozenset(
    [
        "anders",
        "andre",
        "ani",
        "antonio",
        "ben",
        "bjørn",
        "blanca",
        "boleslav",
        "branka",
        "carlos",
        "claire",
        "cristiano",
        "dan",
        "dany",
        "darin",
        "david",
        "demi",
        "desiderio",
        "dick",
        "dolores",
        "domenica",
        "domingo",
        "donna",
        "felice",
        "felipe",
        "fernando",
        "fleur",
        "francisco",
        "françois",
        "greco",
        "hana",
        "jakub",
        "jan",
        "jaromír",
        "jaroslav",
        "jo",
        "john",
        "jorge",
        "josé",
        "juan",
        "julio",
        "kateřina",
        "klas",
        "leonardo",
        "lina",
        "lotta",
        "louka",
        "luis",
        "manuel",
        "marco",
        "mari",
        "martín",
        "maría",
        "massimo",
        "maxime",
        "miguel",
        "mira",
        "máximo",
        "ove",
        "pablo",
        "pedro",
        "petr",
        "pierre",
        "piotr",
        "rafael",
        "roman",
        "romano",
        "román",
        "róża",
        "sam",
        "santiago",
        "sean",
        "sláva",
        "steen",
        "stella",
        "toma",
        "tomáš",
        "tom",
        "victoria",
        "zak",
        "zdeněk",
        "zuzana",
    ]
)


# Capitalised words of business texts that Faker's lists also hold as names.
_EXTRA_COMMON = frozenset(
    [
        "total",
        "hotel",
        "bank",
        "france",
        "paris",
        "london",
        "berlin",
        "madrid",
        "roma",
        "rome",
        "europe",
        "union",
        "april",
        "may",
        "june",
        "august",
        "march",
        "will",
        "mark",
        "bill",
        "grant",
        "rose",
        "lane",
        "street",
        "road",
        "avenue",
        "via",
        "calle",
        "rue",
        "straße",
        "strasse",
        "gmbh",
        "sarl",
        "sas",
        "spa",
        "srl",
        "ltd",
        "bv",
        "nv",
        "ab",
        "oy",
        "as",
        "ag",
        "kg",
        "co",
        "inc",
        "team",
        "service",
        "services",
        "support",
        "office",
        "dear",
        "best",
        "regards",
        "kind",
        "thanks",
        "merci",
        "danke",
        "grazie",
        "gracias",
        "note",
        "notes",
        "meeting",
        "project",
        "order",
        "invoice",
        "delivery",
        "client",
        "customer",
    ]
)


class NameDetector:
    def __init__(self) -> None:
        self.first, self.last, self.common = name_lists()
        self.known = self.first | self.last | TITLES
        self.ambiguous = ambiguous_first_names()

    def _is_first(self, w: str) -> bool:
        return w in self.first and w not in self.ambiguous

    def _is_other(self, w: str) -> bool:
        return w not in self.common and w not in TITLES and len(w) > 1

    def __call__(self, text: str) -> Iterator[Finding]:
        known = self.known
        for m in SEQ_RE.finditer(text):
            start = m.start()
            if start and (text[start - 1].isalnum() or text[start - 1] in "@.-_/"):
                continue  # a capital inside a word, an address, a path
            words = m.group().lower().split()
            if known.isdisjoint(words):
                # no listed word: only a label cue ("Nom : Xyz") can make it a name
                p = start - 1
                while p >= 0 and text[p] in " \t":
                    p -= 1
                if p < 0 or text[p] not in ":-–\n" or not self._cue_before(text, start):
                    continue
            seq = [
                (start + t.start(), start + t.end(), t.group().lower())
                for t in CAPWORD_RE.finditer(m.group())
                if t.group()[0].isupper()
            ]
            if seq:
                yield from self._decide(text, seq)

    def _cue_before(self, text: str, start: int) -> bool:
        before = text[max(0, start - 40) : start]
        tail = before.rstrip()
        if not tail:
            return False
        last = tail.split()[-1].lower()
        if last.rstrip(".") in TITLES or last.rstrip(":") in TITLES:
            return True
        # the label regex ends with the colon or dash, then only blanks and line breaks
        return tail[-1] in ":-–" and _BEFORE_LABEL_RE.search(before) is not None

    def _decide(self, text: str, seq: list[tuple[int, int, str]]) -> Iterator[Finding]:
        low = [w for _, _, w in seq]
        k = 0
        while k < len(seq) - 1 and low[k].rstrip(".") in TITLES:
            k += 1
        rest, low = seq[k:], low[k:]
        cue = k > 0 or self._cue_before(text, rest[0][0])
        end_of = rest[-1][1]
        if cue or _AFTER_BIRTH_RE.match(text, end_of, end_of + 24):
            last = self._cue_span(text, rest, low)
            if last is not None:
                yield self._finding(text, rest[0][0], rest[last][1])
            return
        for i in range(len(rest) - 1):
            a, b = low[i], low[i + 1]
            if (self._is_first(a) and (b in self.last or self._is_other(b))) or (
                a in self.last and a not in self.common and self._is_first(b)
            ):
                j = i + 1
                while j + 1 < len(rest) and low[j + 1] in self.last and self._is_other(low[j + 1]):
                    j += 1
                yield self._finding(text, rest[i][0], rest[j][1])
                return
        if len(rest) == 1 and self._is_first(low[0]):
            before = text[max(0, rest[0][0] - 24) : rest[0][0]]
            if _BEFORE_GREETING_RE.search(before):
                yield self._finding(text, rest[0][0], rest[0][1])

    def _cue_span(self, text: str, rest: list[tuple[int, int, str]], low: list[str]) -> int | None:
        """Index of the last token of a cued name: at most 4 words, stopping at a common word,
        an acronym after a mixed-case word ("Galasso Leone IBAN") or a word glued to digits."""
        last = None
        for i, w in enumerate(low[:4]):
            s, e, _ = rest[i]
            word = text[s:e]
            if i and word.isupper() and not text[rest[0][0] : rest[0][1]].isupper():
                break
            if not (self._is_other(w) or w in self.last or w in self.first):
                break
            last = i
            if e < len(text) and text[e].isdigit():
                break
        return last

    @staticmethod
    def _finding(text: str, start: int, end: int) -> Finding:
        return Finding("person_name", start, end, text[start:end], None, None, WEAK)
