"""Valid national identifiers and IBANs, built from their parts and checked with python-stdnum.

Shared by the detection corpus (:mod:`.values`, random people) and the bench-suite generator
(``scripts/generate_suites.py``, one consistent person per client file): each builder takes the
parts a caller already knows (birth date, sex, name letters) and draws the rest from ``rng``.
"""

from __future__ import annotations

import datetime
import random
import string
from collections.abc import Callable

from faker import Faker
from stdnum import iban as std_iban
from stdnum.be import nn as be_nn
from stdnum.de import idnr as de_idnr
from stdnum.es import dni as es_dni
from stdnum.fr import nir as fr_nir
from stdnum.iso7064 import mod_11_10
from stdnum.it import codicefiscale as it_cf
from stdnum.nl import bsn as nl_bsn
from stdnum.pl import pesel as pl_pesel
from stdnum.pt import cc as pt_cc

#: French departments a NIR may name (20 was split into 2A/2B)
NIR_DEPARTMENTS = tuple(f"{d:02d}" for d in range(1, 96) if d != 20)


def digits(rng: random.Random, n: int, first: str = "0123456789") -> str:
    """``n`` random digits, the first drawn from ``first``."""
    return rng.choice(first) + "".join(rng.choice(string.digits) for _ in range(n - 1))


def until(make: Callable[[], str], valid: Callable[[str], bool]) -> str:
    """Draw with ``make`` until ``valid`` accepts the value."""
    for _ in range(100_000):
        value = make()
        if valid(value):
            return value
    raise RuntimeError("no valid value found")  # pragma: no cover


def nir(rng: random.Random, sex: str, year: int, month: int, department: str) -> str:
    """A French NIR (``sex`` "1" or "2"): commune and order number drawn, then the key."""

    def make() -> str:
        base = f"{sex}{year % 100:02d}{month:02d}{department}"
        base += f"{rng.randint(1, 990):03d}{rng.randint(1, 999):03d}"
        return base + f"{97 - int(base) % 97:02d}"

    return until(make, fr_nir.is_valid)


def steuer_id(rng: random.Random) -> str:
    """A German tax id (IdNr): ten digits, one of them repeated, and an ISO 7064 check digit."""

    def make() -> str:
        ds = list(string.digits)
        rng.shuffle(ds)
        body = ds[:9]
        body.append(rng.choice(body))
        rng.shuffle(body)
        head = "".join(body)
        return head + mod_11_10.calc_check_digit(head)

    return until(make, lambda x: x[0] != "0" and de_idnr.is_valid(x))


def codice_fiscale(rng: random.Random, letters: str, dob: datetime.date, female: bool) -> str:
    """An Italian codice fiscale from six name letters and the birth date."""
    day = dob.day + (40 if female else 0)
    head = (
        f"{letters}{dob.year % 100:02d}{'ABCDEHLMPRST'[dob.month - 1]}{day:02d}"
        f"{rng.choice('ABCDEFGHILM')}{rng.randint(1, 999):03d}"
    )
    return head + it_cf.calc_check_digit(head)


def cf_letters(word: str, first_name: bool) -> str:
    """The three codice-fiscale letters of a last name (or, with ``first_name``, a first name)."""
    letters = [c for c in word.upper() if c in string.ascii_uppercase]
    cons = [c for c in letters if c not in "AEIOU"]
    vows = [c for c in letters if c in "AEIOU"]
    if first_name and len(cons) > 3:
        cons = [cons[0], cons[2], cons[3]]
    return "".join(cons + vows + ["X", "X", "X"])[:3]


def dni(rng: random.Random) -> str:
    """A Spanish DNI: eight digits and the check letter."""
    n = digits(rng, 8)
    v = n + es_dni.calc_check_digit(n)
    assert es_dni.is_valid(v)
    return v


def bsn(rng: random.Random) -> str:
    """A Dutch BSN (eleven-test)."""
    return until(lambda: digits(rng, 9, "123456789"), nl_bsn.is_valid)


def pesel(rng: random.Random, dob: datetime.date, sex: str | None = None) -> str:
    """A Polish PESEL; with ``sex`` ("M"/"F") its serial has the matching parity."""
    month = dob.month + (20 if dob.year >= 2000 else 0)
    if sex is None:
        serial = digits(rng, 4)
    else:
        serial = digits(rng, 3) + rng.choice("13579" if sex == "M" else "02468")
    head = f"{dob.year % 100:02d}{month:02d}{dob.day:02d}{serial}"
    v = head + pl_pesel.calc_check_digit(head)
    assert pl_pesel.is_valid(v)
    return v


def national_number(rng: random.Random, dob: datetime.date, sex: str | None = None) -> str:
    """A Belgian national number; with ``sex`` ("M"/"F") its serial has the matching parity."""

    def make() -> str:
        if sex is None:
            serial = rng.randint(1, 997)
        else:
            serial = rng.randrange(1 if sex == "M" else 2, 998, 2)
        head = f"{dob.year % 100:02d}{dob.month:02d}{dob.day:02d}{serial:03d}"
        base = int(("2" if dob.year >= 2000 else "") + head)
        return head + f"{97 - base % 97:02d}"

    return until(make, be_nn.is_valid)


def cartao_cidadao(rng: random.Random, versions: tuple[str, ...] = ("ZZ", "ZY", "ZX")) -> str:
    """A Portuguese citizen card number (compact)."""

    def make() -> str:
        num = digits(rng, 8) + str(rng.randint(0, 9)) + rng.choice(versions)
        return num + pt_cc.calc_check_digit(num)

    return until(make, pt_cc.is_valid)


def iban(fake: Faker) -> str:
    """A valid IBAN from a (seeded) Faker locale."""
    return until(fake.iban, std_iban.is_valid)
