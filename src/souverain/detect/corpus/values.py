"""Valid sensitive values for the synthetic corpus, each checked with python-stdnum.

Every generator takes a ``random.Random`` and returns ``(value, country)``; the value is already
in one of the real-world spellings (spaces, dots, dashes, lower case) the scanner must accept.
"""

from __future__ import annotations

import datetime
import random
import string
from collections.abc import Callable

from faker import Faker
from stdnum import luhn
from stdnum.at import vnr as at_vnr
from stdnum.dk import cpr as dk_cpr
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.eu import vat as eu_vat
from stdnum.fi import hetu as fi_hetu
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret
from stdnum.it import codicefiscale as it_cf
from stdnum.pt import cc as pt_cc
from stdnum.pt import nif as pt_nif
from stdnum.se import personnummer as se_pnr

from souverain.detect.corpus import identifiers as ids
from souverain.detect.corpus.identifiers import digits
from souverain.detect.mrz import check_digit

Gen = Callable[[random.Random], tuple[str, str | None]]


def _date(rng: random.Random, lo: int = 1940, hi: int = 2005) -> datetime.date:
    return datetime.date(rng.randint(lo, hi), 1, 1) + datetime.timedelta(rng.randint(0, 364))


def group(value: str, sizes: tuple[int, ...], sep: str = " ") -> str:
    out, pos = [], 0
    for size in sizes:
        out.append(value[pos : pos + size])
        pos += size
    if pos < len(value):
        out.append(value[pos:])
    return sep.join(p for p in out if p)


def _spell(rng: random.Random, compact: str, sizes: tuple[int, ...], seps: str = " ") -> str:
    """One real-world spelling: compact, or grouped with a separator, rarely a line break."""
    roll = rng.random()
    if roll < 0.3:
        return compact
    spelled = group(compact, sizes, rng.choice(seps))
    if roll > 0.93 and " " in spelled:
        i = spelled.index(" ")
        spelled = spelled[:i] + "\n" + spelled[i + 1 :]
    return spelled


def fr_nir_value(rng: random.Random) -> tuple[str, str | None]:
    dept = rng.choice(ids.NIR_DEPARTMENTS)
    v = ids.nir(rng, rng.choice("12"), rng.randint(40, 99), rng.randint(1, 12), dept)
    return _spell(rng, v, (1, 2, 2, 2, 3, 3, 2)), "FR"


def fr_siren_value(rng: random.Random) -> tuple[str, str | None]:
    base = digits(rng, 8, "123456789")
    v = base + luhn.calc_check_digit(base)
    assert fr_siren.is_valid(v)
    return _spell(rng, v, (3, 3, 3)), "FR"


def fr_siret_value(rng: random.Random) -> tuple[str, str | None]:
    base = digits(rng, 8, "123456789")
    siren = base + luhn.calc_check_digit(base)
    head = siren + f"{rng.randint(1, 99):04d}"
    v = head + luhn.calc_check_digit(head)
    assert fr_siret.is_valid(v)
    return _spell(rng, v, (3, 3, 3, 5)), "FR"


def de_idnr_value(rng: random.Random) -> tuple[str, str | None]:
    v = ids.steuer_id(rng)
    return _spell(rng, v, (2, 3, 3, 3)), "DE"


def it_cf_value(rng: random.Random) -> tuple[str, str | None]:
    def make() -> str:
        letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(6))
        return ids.codice_fiscale(rng, letters, _date(rng), female=rng.random() < 0.5)

    v = ids.until(make, it_cf.is_valid)
    return (v.lower() if rng.random() < 0.15 else v), "IT"


def es_dni_value(rng: random.Random) -> tuple[str, str | None]:
    v = ids.dni(rng)
    n = v[:8]
    roll = rng.random()
    if roll < 0.2:
        v = f"{n[:2]}.{n[2:5]}.{n[5:]}-{v[-1]}"
    elif roll < 0.4:
        v = f"{n}-{v[-1]}"
    return (v.lower() if rng.random() < 0.1 else v), "ES"


def es_nie_value(rng: random.Random) -> tuple[str, str | None]:
    head = rng.choice("XYZ") + digits(rng, 7)
    v = head + es_nie.calc_check_digit(head)
    assert es_nie.is_valid(v)
    if rng.random() < 0.3:
        v = f"{v[0]}-{v[1:8]}-{v[8]}"
    return (v.lower() if rng.random() < 0.1 else v), "ES"


def nl_bsn_value(rng: random.Random) -> tuple[str, str | None]:
    v = ids.bsn(rng)
    roll = rng.random()
    if roll < 0.3:
        return f"{v[:4]}.{v[4:6]}.{v[6:]}", "NL"
    return _spell(rng, v, (3, 3, 3)), "NL"


def be_nn_value(rng: random.Random) -> tuple[str, str | None]:
    v = ids.national_number(rng, _date(rng, 1940, 2010))
    if rng.random() < 0.5:
        return f"{v[:2]}.{v[2:4]}.{v[4:6]}-{v[6:9]}.{v[9:]}", "BE"
    return v, "BE"


def pl_pesel_value(rng: random.Random) -> tuple[str, str | None]:
    return ids.pesel(rng, _date(rng, 1940, 2010)), "PL"


def at_vnr_value(rng: random.Random) -> tuple[str, str | None]:
    def make() -> str:
        d = _date(rng)
        serial = digits(rng, 3, "123456789")
        tail = f"{d.day:02d}{d.month:02d}{d.year % 100:02d}"
        return serial + at_vnr.calc_check_digit(serial + "0" + tail) + tail

    v = ids.until(make, at_vnr.is_valid)
    return (f"{v[:4]} {v[4:]}" if rng.random() < 0.6 else v), "AT"


def pt_nif_value(rng: random.Random) -> tuple[str, str | None]:
    head = digits(rng, 8, "123")
    v = head + pt_nif.calc_check_digit(head)
    assert pt_nif.is_valid(v)
    return _spell(rng, v, (3, 3, 3)), "PT"


def pt_cc_value(rng: random.Random) -> tuple[str, str | None]:
    v = ids.cartao_cidadao(rng, ("ZZ", "ZY", "ZX", "ZW"))
    return (pt_cc.format(v) if rng.random() < 0.6 else v), "PT"


def se_pnr_value(rng: random.Random) -> tuple[str, str | None]:
    d = _date(rng, 1940, 2005)
    head = f"{d.year % 100:02d}{d.month:02d}{d.day:02d}{digits(rng, 3)}"
    v = head + luhn.calc_check_digit(head)
    assert se_pnr.is_valid(v)
    if rng.random() < 0.25:
        return f"{d.year // 100}{v[:6]}-{v[6:]}", "SE"
    return f"{v[:6]}-{v[6:]}", "SE"


def dk_cpr_value(rng: random.Random) -> tuple[str, str | None]:
    def make() -> str:
        d = _date(rng, 1940, 2005)
        return f"{d.day:02d}{d.month:02d}{d.year % 100:02d}" + digits(rng, 4)

    v = ids.until(make, dk_cpr.is_valid)
    return (f"{v[:6]}-{v[6:]}" if rng.random() < 0.8 else v), "DK"


def fi_hetu_value(rng: random.Random) -> tuple[str, str | None]:
    d = _date(rng, 1940, 2010)
    head = f"{d.day:02d}{d.month:02d}{d.year % 100:02d}"
    serial = f"{rng.randint(2, 899):03d}"
    check = "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(head + serial) % 31]
    v = f"{head}{'A' if d.year >= 2000 else '-'}{serial}{check}"
    assert fi_hetu.is_valid(v)
    return v, "FI"


_IBAN_LOCALES: tuple[str, ...] = (
    "fr_FR", "de_DE", "it_IT", "es_ES", "nl_NL", "nl_BE", "pl_PL", "pt_PT", "de_AT", "fi_FI",
    "da_DK",
)  # fmt: skip


def iban_value(rng: random.Random) -> tuple[str, str | None]:
    fake = Faker(rng.choice(_IBAN_LOCALES))
    fake.seed_instance(rng.randint(0, 2**31))
    v = ids.iban(fake)
    spelled = _spell(rng, v, (4, 4, 4, 4, 4, 4, 4, 4))
    return (spelled.lower() if rng.random() < 0.1 else spelled), v[:2]


def card_value(rng: random.Random) -> tuple[str, str | None]:
    prefix, length = rng.choice(
        [("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("2720", 16), ("34", 15), ("37", 15)]
    )
    head = prefix + digits(rng, length - len(prefix) - 1)
    v = head + luhn.calc_check_digit(head)
    sizes = (4, 6, 5) if length == 15 else (4, 4, 4, 4)
    return _spell(rng, v, sizes, " -"), None


def _vat_fr(rng: random.Random) -> str:
    base = digits(rng, 8, "123456789")
    siren = base + luhn.calc_check_digit(base)
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


_VAT_SHAPES: dict[str, Callable[[random.Random], str]] = {
    "FR": _vat_fr,
    "DE": lambda r: "DE" + digits(r, 9, "123456789"),
    "IT": lambda r: "IT" + digits(r, 7) + f"{r.randint(1, 100):03d}" + digits(r, 1),
    "ES": lambda r: "ES" + (n := digits(r, 8)) + es_dni.calc_check_digit(n),
    "NL": lambda r: "NL" + digits(r, 9, "123456789") + "B01",
    "BE": lambda r: "BE0" + digits(r, 9, "123456789"),
    "AT": lambda r: "ATU" + digits(r, 8),
    "PL": lambda r: "PL" + digits(r, 10, "123456789"),
    "PT": lambda r: "PT" + digits(r, 9, "125"),
    "SE": lambda r: "SE" + digits(r, 10, "5") + "01",
    "DK": lambda r: "DK" + digits(r, 8, "123456789"),
    "FI": lambda r: "FI" + digits(r, 8),
}


def vat_value(rng: random.Random) -> tuple[str, str | None]:
    country = rng.choice(sorted(_VAT_SHAPES))
    v = ids.until(lambda: _VAT_SHAPES[country](rng), eu_vat.is_valid)
    if rng.random() < 0.3:
        cut = 3 if v.startswith("ATU") else 2
        v = f"{v[:cut]} {v[cut:]}"
    return v, country


PHONE_SHAPES: dict[str, tuple[str, ...]] = {
    # "n" is a digit; the national forms are what people write
    "FR": ("+33 6 nn nn nn nn", "+33 (0)1 nn nn nn nn", "06 nn nn nn nn", "01.nn.nn.nn.nn"),
    "DE": ("+49 30 nnnnnnnn", "+49 (0)89 nnnnnnn", "030 nnnnnnnn", "0171 nnnnnnn", "0151/nnnnnnnn"),
    "IT": ("+39 3nn nnn nnnn", "+39 06 nnnn nnnn", "0039 3nn nnnnnnn"),
    "ES": ("+34 6nn nnn nnn", "+34 91 nnn nn nn", "0034 6nnnnnnnn"),
    "NL": ("+31 6 nnnnnnnn", "+31 20 nnn nnnn", "06-nnnnnnnn", "020 nnn nnnn"),
    "BE": ("+32 4nn nn nn nn", "+32 2 nnn nn nn", "04nn nn nn nn", "02 nnn nn nn"),
    "PL": ("+48 5nn nnn nnn", "+48 22 nnn nn nn", "0048 6nnnnnnnn"),
    "PT": ("+351 9nn nnn nnn", "+351 21 nnn nnnn"),
    "AT": ("+43 664 nnnnnnn", "+43 1 nnnnnnn", "0664 nnnnnnn"),
    "SE": ("+46 70 nnn nn nn", "+46 8 nnn nnn nn", "070-nnn nn nn"),
    "DK": ("+45 nn nn nn nn", "+45 nnnnnnnn"),
    "FI": ("+358 40 nnn nnnn", "+358 9 nnn nnnn", "040 nnn nnnn"),
}
# national forms without a trunk 0 (only recognisable with a cue such as "tel.")
PHONE_CUED_SHAPES: dict[str, tuple[str, ...]] = {
    "ES": ("6nn nnn nnn", "6nnnnnnnn"),
    "IT": ("3nn nnn nnnn", "3nnnnnnnnn"),
    "PL": ("5nn nnn nnn", "6nnnnnnnn"),
    "PT": ("9nn nnn nnn",),
    "DK": ("nn nn nn nn",),
}


def _fill(rng: random.Random, shape: str) -> str:
    return "".join(rng.choice("123456789") if c == "n" else c for c in shape)


def phone_value(rng: random.Random) -> tuple[str, str | None]:
    country = rng.choice(sorted(PHONE_SHAPES))
    return _fill(rng, rng.choice(PHONE_SHAPES[country])), country


def phone_cued_value(rng: random.Random) -> tuple[str, str | None]:
    country = rng.choice(sorted(PHONE_CUED_SHAPES))
    return _fill(rng, rng.choice(PHONE_CUED_SHAPES[country])), country


def _alnum(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


SECRET_SHAPES: tuple[Callable[[random.Random], str], ...] = (
    lambda r: "sk-proj-" + _alnum(r, 48),
    lambda r: "sk-" + _alnum(r, 48),
    lambda r: "AKIA" + _alnum(r, 16, string.ascii_uppercase + string.digits),
    lambda r: "ghp_" + _alnum(r, 36),
    lambda r: "github_pat_" + _alnum(r, 22) + "_" + _alnum(r, 59),
    lambda r: "xoxb-" + digits(r, 12) + "-" + digits(r, 12) + "-" + _alnum(r, 24),
    lambda r: "AIza" + _alnum(r, 35),
    lambda r: "sk_live_" + _alnum(r, 24),
    lambda r: "glpat-" + _alnum(r, 20),
    lambda r: "hf_" + _alnum(r, 34),
    lambda r: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI" + _alnum(r, 20) + "." + _alnum(r, 43),
)


def secret_value(rng: random.Random) -> tuple[str, str | None]:
    return rng.choice(SECRET_SHAPES)(rng), None


def pem_value(rng: random.Random) -> tuple[str, str | None]:
    kind = rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY", "EC PRIVATE KEY"])
    body = "\n".join(_alnum(rng, 64, string.ascii_letters + string.digits + "+/") for _ in range(4))
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----", None


def _mrz_field(value: str, width: int) -> str:
    return (value + "<" * width)[:width]


def mrz_value(rng: random.Random) -> tuple[str, str | None]:
    fake = Faker(rng.choice(["fr_FR", "de_DE", "it_IT", "nl_NL", "es_ES"]))
    fake.seed_instance(rng.randint(0, 2**31))
    last = "".join(c for c in fake.last_name().upper() if c.isascii() and c.isalpha())
    first = "".join(c for c in fake.first_name().upper() if c.isascii() and c.isalpha())
    nat = rng.choice(["FRA", "DEU", "ITA", "NLD", "ESP", "BEL"])
    doc = _alnum(rng, 9, string.ascii_uppercase + string.digits)
    dob = _date(rng).strftime("%y%m%d")
    exp = _date(rng, 2026, 2035).strftime("%y%m%d")
    sex = rng.choice("MF")
    if rng.random() < 0.6:  # passport, TD3
        l1 = _mrz_field(f"P<{nat}{last}<<{first}", 44)
        opt = "<" * 14
        l2 = f"{doc}{check_digit(doc)}{nat}{dob}{check_digit(dob)}{sex}{exp}{check_digit(exp)}"
        l2 += opt + check_digit(opt)
        l2 += check_digit(l2[0:10] + l2[13:20] + l2[21:43])
        return f"{l1}\n{l2}", nat
    opt1 = "<" * 15
    l1 = f"I<{nat}{doc}{check_digit(doc)}{opt1}"
    l2 = f"{dob}{check_digit(dob)}{sex}{exp}{check_digit(exp)}{nat}" + "<" * 11
    l2 += check_digit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
    l3 = _mrz_field(f"{last}<<{first}", 30)
    return f"{l1}\n{l2}\n{l3}", nat
