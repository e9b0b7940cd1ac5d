"""A seeded synthetic corpus: EU-language texts with planted sensitive values at known offsets.

    samples = pii_corpus(1000, seed=1)        # Sample(text, language, planted=(Planted...))

Every planted identifier is valid for python-stdnum (see :mod:`souverain.detect.corpus.values`).
Identifiers whose checksum is weak (SIREN, BSN, NIF, PESEL, ...) are planted after their
label, as in real documents; ``bare=True`` also plants them without one, to measure that case.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from faker import Faker

from souverain.detect.corpus import values as v

LANG_LOCALE = {
    "fr": "fr_FR", "de": "de_DE", "it": "it_IT", "es": "es_ES", "nl": "nl_NL", "pl": "pl_PL",
    "pt": "pt_PT", "sv": "sv_SE", "da": "da_DK", "fi": "fi_FI", "en": "en_GB",
}  # fmt: skip
LANGS = tuple(LANG_LOCALE)

# The markers the corpus plants (and that tests and the benchmark configure).
MARKERS = ["strictement confidentiel", "streng vertraulich", "Projet Aurora", r"re:\bPRJ-\d{4}\b"]

_MY = {
    "fr": "Mon {label} est le {value}.", "de": "Meine {label} lautet {value}.",
    "it": "Il mio {label} è {value}.", "es": "Mi {label} es {value}.",
    "nl": "Mijn {label} is {value}.", "pl": "Mój {label} to {value}.",
    "pt": "O meu {label} é {value}.", "sv": "Mitt {label} är {value}.",
    "da": "Mit {label} er {value}.", "fi": "{label} on {value}.", "en": "My {label} is {value}.",
}  # fmt: skip
_BARE = {
    "fr": "Voici les informations : {value}, merci de vérifier.",
    "de": "Bitte prüfen Sie {value} bis Freitag.", "it": "Ecco i dati: {value}, grazie.",
    "es": "Aquí están los datos: {value}, gracias.", "nl": "Hier zijn de gegevens: {value}.",
    "pl": "Oto dane: {value}, dziękuję.", "pt": "Aqui estão os dados: {value}, obrigado.",
    "sv": "Här är uppgifterna: {value}, tack.", "da": "Her er oplysningerne: {value}, tak.",
    "fi": "Tässä tiedot: {value}, kiitos.", "en": "Here are the details: {value}, thanks.",
}  # fmt: skip


@dataclass(frozen=True)
class Kind:
    name: str
    type: str
    gen: v.Gen
    labels: dict[str, tuple[str, ...]]  # language -> labels ("*": any language)
    needs_label: bool = False  # weak checksum: only detected after its label
    block: bool = False  # multi-line value (PEM, MRZ): on its own lines


def _all(*labels: str) -> dict[str, tuple[str, ...]]:
    return {"*": labels}


KINDS: tuple[Kind, ...] = (
    Kind("fr_nir", "national_id", v.fr_nir_value, {"fr": ("numéro de sécurité sociale", "NIR")}),
    Kind("fr_siren", "company_id", v.fr_siren_value, {"fr": ("SIREN", "numéro SIREN")}, True),
    Kind("fr_siret", "company_id", v.fr_siret_value, {"fr": ("SIRET", "n° SIRET")}, True),
    Kind("de_idnr", "national_id", v.de_idnr_value, {"de": ("Steuer-ID", "IdNr")}),
    Kind("it_cf", "national_id", v.it_cf_value, {"it": ("codice fiscale", "C.F.")}),
    Kind("es_dni", "national_id", v.es_dni_value, {"es": ("DNI", "número de DNI")}),
    Kind("es_nie", "national_id", v.es_nie_value, {"es": ("NIE",)}),
    Kind("nl_bsn", "national_id", v.nl_bsn_value, {"nl": ("BSN", "burgerservicenummer")}, True),
    Kind(
        "be_nn",
        "national_id",
        v.be_nn_value,
        {"fr": ("numéro de registre national",), "nl": ("rijksregisternummer",)},
    ),
    Kind("pl_pesel", "national_id", v.pl_pesel_value, {"pl": ("PESEL", "numer PESEL")}, True),
    Kind(
        "at_vnr", "national_id", v.at_vnr_value, {"de": ("SVNR", "Sozialversicherungsnummer")}, True
    ),
    Kind("pt_nif", "national_id", v.pt_nif_value, {"pt": ("NIF", "número de contribuinte")}, True),
    Kind("pt_cc", "national_id", v.pt_cc_value, {"pt": ("Cartão de Cidadão", "número do CC")}),
    Kind("se_pnr", "national_id", v.se_pnr_value, {"sv": ("personnummer",)}, True),
    Kind("dk_cpr", "national_id", v.dk_cpr_value, {"da": ("CPR-nummer", "CPR")}, True),
    Kind("fi_hetu", "national_id", v.fi_hetu_value, {"fi": ("henkilötunnus", "HETU")}),
    Kind("iban", "iban", v.iban_value, _all("IBAN")),
    Kind(
        "card",
        "payment_card",
        v.card_value,
        {
            "fr": ("carte bancaire",),
            "de": ("Kreditkarte",),
            "it": ("carta di credito",),
            "es": ("tarjeta",),
            "*": ("card number",),
        },
    ),
    Kind(
        "vat",
        "vat_id",
        v.vat_value,
        {
            "fr": ("numéro de TVA",),
            "de": ("USt-IdNr.",),
            "it": ("partita IVA",),
            "nl": ("btw-nummer",),
            "*": ("VAT number",),
        },
    ),
    Kind(
        "phone",
        "phone",
        v.phone_value,
        {
            "fr": ("tél.", "téléphone"),
            "de": ("Tel.", "Handy"),
            "it": ("cellulare",),
            "es": ("móvil",),
            "nl": ("mobiel",),
            "pt": ("telemóvel",),
            "da": ("tlf.",),
            "fi": ("puh.",),
            "*": ("phone", "tel."),
        },
    ),
    Kind(
        "phone_cued",
        "phone",
        v.phone_cued_value,
        {
            "es": ("teléfono",),
            "it": ("tel.",),
            "pl": ("tel.",),
            "pt": ("telemóvel",),
            "da": ("tlf.",),
            "*": ("phone",),
        },
        True,
    ),
    Kind("email", "email", lambda r: (_email(r), None), _all("e-mail", "email")),
    Kind("ipv4", "ip_address", lambda r: (_ipv4(r), None), _all("IP")),
    Kind("ipv6", "ip_address", lambda r: (_ipv6(r), None), _all("IPv6")),
    Kind("mrz", "mrz", v.mrz_value, _all("MRZ"), block=True),
    Kind("secret", "secret", v.secret_value, _all("API key", "token")),
    Kind("pem", "secret", v.pem_value, _all("key"), block=True),
    Kind("name", "person_name", lambda r: ("", None), {}),
    Kind("marker", "confidential_marker", lambda r: (_marker(r), None), {}),
)
KIND_BY_NAME = {k.name: k for k in KINDS}


def _email(rng: random.Random) -> str:
    fake = Faker(LANG_LOCALE[rng.choice(LANGS)])
    fake.seed_instance(rng.randint(0, 2**31))
    return fake.ascii_email()


def _ipv4(rng: random.Random) -> str:
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))


def _ipv6(rng: random.Random) -> str:
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
    if rng.random() < 0.5:
        return "2001:db8::" + ":".join(groups[:2])
    return ":".join(groups)


def _marker(rng: random.Random) -> str:
    pick = rng.choice(MARKERS)
    if pick.startswith("re:"):
        return f"PRJ-{rng.randint(1000, 9999)}"
    return pick.upper() if rng.random() < 0.3 else pick


@dataclass(frozen=True)
class Planted:
    kind: str
    type: str
    start: int
    end: int
    country: str | None
    labelled: bool
    form: str = ""  # person names: title, label, birth, bare


@dataclass(frozen=True)
class Sample:
    text: str
    language: str
    planted: tuple[Planted, ...]


_NAME_FRAMES: dict[str, tuple[tuple[str, str], ...]] = {
    # (form, frame); {n} is the planted name. Titles stay outside the planted span.
    "fr": (("title", "Mme {n}"), ("title", "M. {n}"), ("label", "Nom : {n}"),
           ("birth", "{n}, né le 12/03/1985")),
    "de": (("title", "Herr {n}"), ("title", "Frau {n}"), ("label", "Name: {n}"),
           ("birth", "{n}, geboren am 3. Mai 1979")),
    "it": (("title", "Sig.ra {n}"), ("title", "Sig. {n}"), ("label", "Nome: {n}"),
           ("birth", "{n}, nato il 4/5/1980")),
    "es": (("title", "Sr. {n}"), ("title", "Sra. {n}"), ("label", "Nombre: {n}"),
           ("birth", "{n}, nacido el 2 de mayo")),
    "nl": (("title", "Dhr. {n}"), ("title", "mevrouw {n}"), ("label", "Naam: {n}"),),
    "pl": (("title", "Pan {n}"), ("title", "Pani {n}"), ("label", "Imię i nazwisko: {n}"),),
    "pt": (("title", "Sr. {n}"), ("label", "Nome: {n}"),),
    "sv": (("label", "Namn: {n}"),), "da": (("label", "Navn: {n}"),),
    "fi": (("label", "Nimi: {n}"),), "en": (("title", "Mr {n}"), ("label", "Name: {n}"),),
}  # fmt: skip


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.planted: list[Planted] = []

    def add(self, s: str) -> None:
        self.parts.append(s)
        self.length += len(s)

    def frame(self, frame: str, value: str, make: Callable[[int, int], Planted]) -> None:
        head, tail = frame.split("{value}") if "{value}" in frame else frame.split("{n}")
        self.add(head)
        start = self.length
        self.add(value)
        self.planted.append(make(start, self.length))
        self.add(tail)


def _labels(kind: Kind, lang: str) -> tuple[str, ...]:
    return kind.labels.get(lang) or kind.labels.get("*") or ()


def _language_of(kind: Kind, rng: random.Random) -> str:
    langs = [lang for lang in kind.labels if lang != "*"]
    if "*" in kind.labels or not langs:
        return rng.choice(LANGS)
    return rng.choice(langs)


def _plant(b: _Builder, kind: Kind, lang: str, rng: random.Random, bare: bool) -> None:
    if kind.name == "name":
        fake = Faker(LANG_LOCALE[lang])
        fake.seed_instance(rng.randint(0, 2**31))
        name = f"{fake.first_name()} {fake.last_name()}"
        form, frame = rng.choice(_NAME_FRAMES[lang] + (("bare", _BARE[lang]),))
        frame = frame.replace("{value}", "{n}")
        b.frame(
            frame, name, lambda s, e: Planted("name", kind.type, s, e, None, form != "bare", form)
        )
        return
    value, country = kind.gen(rng)
    labels = _labels(kind, lang)
    labelled = bool(labels) and ((kind.needs_label and not bare) or rng.random() < 0.5)
    if kind.block:
        frame = (f"{rng.choice(labels)}:\n" if labelled else "\n") + "{value}\n"
    elif labelled:
        label = rng.choice(labels)
        frame = rng.choice((_MY[lang], "{label}: {value}", "{label} {value}")).replace(
            "{label}", label
        )
    else:
        frame = _BARE[lang]
    b.frame(frame, value, lambda s, e: Planted(kind.name, kind.type, s, e, country, labelled))


def _filler(fake: Faker) -> str:
    return str(fake.sentence(nb_words=12))


def pii_corpus(
    n: int, seed: int = 0, *, bare: bool = False, kinds: tuple[str, ...] = ()
) -> list[Sample]:
    """``n`` texts, each with 2-4 planted values; kinds round-robin so every kind is covered."""
    rng = random.Random(seed)
    chosen = [KIND_BY_NAME[k] for k in kinds] if kinds else list(KINDS)
    fakers = {lang: Faker(loc) for lang, loc in LANG_LOCALE.items()}
    for i, fake in enumerate(fakers.values()):
        fake.seed_instance(seed * 100 + i)
    out: list[Sample] = []
    for i in range(n):
        first = chosen[i % len(chosen)]
        lang = _language_of(first, rng)
        others = [k for k in chosen if not k.labels or "*" in k.labels or lang in k.labels]
        items = [first] + [rng.choice(others) for _ in range(rng.randint(1, 3))]
        b = _Builder()
        for item in items:
            if rng.random() < 0.6:
                b.add(_filler(fakers[lang]) + " ")
            _plant(b, item, lang, rng, bare)
            b.add(rng.choice((" ", "\n", " ", "\n\n")))
        b.add(_filler(fakers[lang]))
        out.append(Sample("".join(b.parts), lang, tuple(b.planted)))
    return out
