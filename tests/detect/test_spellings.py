"""Every spelling of a value is found, and pseudonymisation replaces the spelling the client wrote:
Unicode spaces, dashes, dots and slashes, invisible characters, fullwidth forms, any grouping,
and the less common valid forms of each identifier (issue #11, item 3)."""

from __future__ import annotations

import random
import re
import string

import pytest
from stdnum.fr import nir, tva

from souverain.detect import Scanner
from souverain.detect.normalise import view
from souverain.policy.pseudonymize import Pseudonymizer

IBAN = "FR7630006000011234567890189"
CARD = "4111111111111111"


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner()


def groups(value: str, size: int = 4) -> list[str]:
    return [value[i : i + size] for i in range(0, len(value), size)]


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


SEPARATORS = {
    "no-break space": "\u00a0",
    "narrow no-break space": "\u202f",
    "thin space": "\u2009",
    "ideographic space": "\u3000",
    "tab": "\t",
    "slash": "/",
    "fraction slash": "\u2044",
    "en dash": "\u2013",
    "em dash": "\u2014",
    "minus sign": "\u2212",
    "non-breaking hyphen": "\u2011",
    "one-dot leader": "\u2024",
    "middle dot": "\u00b7",
    "space, dash, space": " - ",
    "two spaces": "  ",
    "zero-width space": "\u200b",
    "soft hyphen": "\u00ad",
    "word joiner": "\u2060",
    "zero-width no-break space": "\ufeff",
    "left-to-right mark": "\u200e",
}


def spelled(value: str, sep: str, size: int = 4) -> str:
    return sep.join(groups(value, size))


@pytest.mark.parametrize("sep", SEPARATORS.values(), ids=list(SEPARATORS))
@pytest.mark.parametrize(("value", "kind"), [(IBAN, "iban"), (CARD, "payment_card")])
def test_every_separator_spelling_is_found_with_its_original_span(
    scanner: Scanner, value: str, kind: str, sep: str
) -> None:
    written = spelled(value, sep)
    text = f"Merci de virer sur {written} avant vendredi."
    found = [f for f in scanner.scan(text) if f.type == kind]
    assert len(found) == 1, (repr(written), scanner.scan(text))
    f = found[0]
    assert f.text == written and text[f.start : f.end] == written
    assert "".join(c for c in view(f.text).text if c.isalnum()) == value


@pytest.mark.parametrize(
    "written",
    [
        fullwidth(spelled(IBAN, " ")),
        fullwidth(IBAN),
        "FR\u200b76\u200b3000\u00ad6000\u200d0112\u20603456 7890 189",
        spelled(IBAN.lower(), " "),
        "FR76 30006 00001 12345678901 89",  # the French RIB grouping
        " ".join(IBAN),  # character by character
        "FR76\u00a03000\u202f6000\u20090112\t3456/7890\u2013189",  # all at once
        "ＦＲ７６\u00a0３０００\u2009６０００ ０１１２ ３４５６ ７８９０ １８９",
        "F\u0332R\u033276 3000 6000 0112 3456 7890 189",  # combining low lines
        # wide separators after the country (found by the property test): two spaces, a
        # spaced slash, one separator per character
        "FR  76  30  00  60  00  01  12  34  56  78  90  18  9",
        "FR / 76 / 30 / 00 / 60 / 00 / 01 / 12 / 34 / 56 / 78 / 90 / 18 / 9",
        "/".join(IBAN),
        " - ".join(IBAN),
        "\u2013".join("DE89370400440532013000"),
    ],
)
def test_iban_in_hostile_spellings(scanner: Scanner, written: str) -> None:
    text = f"IBAN : {written}."
    found = [f for f in scanner.scan(text) if f.type == "iban"]
    assert [f.text for f in found] == [written]


def test_cyrillic_look_alikes_are_read_as_latin(scanner: Scanner) -> None:
    written = "\u0415S91 2100 0418 4502 0005 1332"  # Cyrillic Е for E
    assert [f.type for f in scanner.scan(f"IBAN {written}")] == ["iban"]


def test_card_with_en_dashes_and_digit_by_digit(scanner: Scanner) -> None:
    for written in (
        "4111\u20131111\u20131111\u20131111",
        " ".join(CARD),
        "41 11 11 11 11 11 11 11",
    ):
        found = [f for f in scanner.scan(f"ma carte {written} merci") if f.type == "payment_card"]
        assert [f.text for f in found] == [written]


def test_arabic_indic_and_superscript_digits(scanner: Scanner) -> None:
    arabic = "".join(chr(0x0660 + int(d)) for d in CARD)
    found = scanner.scan(f"card {arabic}")
    assert [(f.type, f.text) for f in found] == [("payment_card", arabic)]


def _nir(body: str) -> str:
    return body + nir.calc_check_digits(body)


@pytest.mark.parametrize("dept", ["2A", "2B", "2a"])
def test_corsican_nir(scanner: Scanner, dept: str) -> None:
    value = _nir(f"29510{dept.upper()}126111")
    spaced = (
        f"{value[0]} {value[1:3]} {value[3:5]} {dept} {value[7:10]} {value[10:13]} {value[13:]}"
    )
    for written in (value[:5] + dept + value[7:], spaced):
        found = scanner.scan(f"NIR : {written}")
        assert [(f.type, f.country, f.text) for f in found] == [("national_id", "FR", written)]


def test_french_vat_with_letter_check_characters(scanner: Scanner) -> None:
    siren = "732829320"
    letters = [
        cand
        for a in "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
        for b in "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
        if not (a.isdigit() and b.isdigit()) and tva.is_valid(cand := f"FR{a}{b}{siren}")
    ]
    assert letters, "python-stdnum found no letter check characters for this SIREN"
    for value in (*letters[:3], "FR40303265045"):
        for written in (value, f"{value[:4]} {value[4:7]} {value[7:10]} {value[10:]}"):
            found = scanner.scan(f"TVA intracommunautaire {written}")
            assert [(f.type, f.text) for f in found] == [("vat_id", written)], written


@pytest.mark.parametrize("value", ["FRK7399859412", "ATU13585627", "NL004495445B01"])
@pytest.mark.parametrize("size", [1, 2, 3])
@pytest.mark.parametrize("sep", [" ", "/", " - ", "\u00a0"])
def test_vat_letters_spelled_apart(scanner: Scanner, value: str, size: int, sep: str) -> None:
    """Letters of a VAT number written apart from its prefix (``F R K 7 ...``, ``AT U1 ...``)."""
    written = sep.join(value[i : i + size] for i in range(0, len(value), size))
    found = scanner.scan(f"n° {written}.")
    assert [(f.type, f.text) for f in found] == [("vat_id", written)], written


def test_corsican_nir_split_at_the_department(scanner: Scanner) -> None:
    value = _nir("295102A126111")
    for size in (1, 2, 3):
        written = " ".join(value[i : i + size] for i in range(0, len(value), size))
        found = scanner.scan(f"NIR {written}")
        assert [(f.type, f.text) for f in found] == [("national_id", written)], written


def test_swedish_personnummer_of_a_centenarian(scanner: Scanner) -> None:
    found = scanner.scan("personnummer 880320+0016")
    assert [(f.type, f.country, f.text) for f in found] == [("national_id", "SE", "880320+0016")]


def test_pseudonymisation_replaces_the_original_spelling_invisibles_included(
    scanner: Scanner,
) -> None:
    written = "FR76\u200b3000\u00a06000\u00ad0112\u20093456 7890\u2013189"
    text = f"Virez sur {written}, merci."
    findings = scanner.scan(text)
    pz = Pseudonymizer()
    out = pz.pseudonymize(text, findings)
    assert out == "Virez sur <IBAN_1>, merci."
    assert pz.restore(out) == text
    # the same IBAN written plainly gets the same placeholder
    plain = "FR76 3000 6000 0112 3456 7890 189"
    assert pz.pseudonymize(plain, scanner.scan(plain)) == "<IBAN_1>"


def test_view_maps_offsets_back_through_deletions_and_expansions() -> None:
    text = "a\u200bb ﬁn\u00adal ＡＢ e\u0301t\u00e9"
    seen = view(text)
    assert seen.text == "ab final AB été"
    for start in range(len(seen.text)):
        for end in range(start + 1, len(seen.text) + 1):
            s, e = seen.span(start, end)
            assert 0 <= s < e <= len(text)
            assert seen.text[start:end] in view(text[s:e]).text


def test_plain_text_is_its_own_view() -> None:
    for text in ("plain ascii", "accentué, ça va", "日本語のテキスト"):
        seen = view(text)
        assert seen.text is text and seen.same_offsets


def _random_bban(structure: str, rng: random.Random) -> str:
    pools = {
        "n": string.digits,
        "a": string.ascii_uppercase,
        "c": string.digits + string.ascii_uppercase,
    }
    return "".join(
        rng.choice(pools[kind])
        for n, kind in re.findall(r"(\d+)!?([nac])", structure)
        for _ in range(int(n))
    )


def test_an_iban_of_every_country_in_the_registry(scanner: Scanner) -> None:
    """Every country of python-stdnum's copy of the SWIFT IBAN registry, a random BBAN of its
    structure with valid check digits (a national check too where there is one): found compact, grouped by four and in lower case."""
    from stdnum import iban, numdb

    rng = random.Random(11)
    countries = 0
    for _length, country, _high, props, _children in numdb.get("iban").prefixes:
        if not props.get("bban"):
            continue
        for _ in range(1000):  # some countries add a national check (BE, FR, ...): draw again
            bban = _random_bban(props["bban"], rng)
            value = country + iban.calc_check_digits(country + "00" + bban) + bban
            if iban.is_valid(value):
                break
        else:
            continue
        countries += 1
        grouped = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
        for written in (value, grouped, grouped.lower()):
            found = scanner.scan(f"compte {written}.")
            assert [(f.type, f.text) for f in found] == [("iban", written)], written
    assert countries >= 80


def test_vat_numbers_of_python_stdnums_own_examples(scanner: Scanner) -> None:
    """The valid examples in the documentation of python-stdnum's module for each member state
    (``>>> compact('...')`` followed by its compact form), with the country prefix: each is
    found whole. A comma is not a separator (``DE 136,695 976``): lists of numbers would be
    suspects."""
    from stdnum.eu import vat

    found_any = set()
    for cc in sorted(vat.MEMBER_STATES):
        doc = vat._get_cc_module(cc).__doc__ or ""
        for raw, compact in re.findall(r">>> (?:validate|compact)\('([^']+)'\)\n'([^']+)'", doc):
            value = compact if compact[:2].isalpha() else cc.upper() + compact
            if not vat.is_valid(value):
                continue
            for written in {value, raw.strip()} - {"DE 136,695 976"}:
                if not written[:2].isalpha() or written[:2] == "GB":  # XI's module: GB's examples
                    continue
                got = [(f.type, f.text) for f in scanner.scan(f"TVA {written}.")]
                assert got == [("vat_id", written)], written
                found_any.add(cc)
    assert len(found_any) >= 20


#: python-stdnum module -> a label to write before its number (weak checksums need one)
NATIONAL_MODULES = {
    **{"fr.nir": "NIR", "de.idnr": "Steuer-ID", "it.codicefiscale": "CF", "es.dni": "DNI"},
    **{"es.nie": "NIE", "nl.bsn": "BSN", "be.nn": "NN", "pl.pesel": "PESEL", "at.vnr": "SVNR"},
    **{"pt.nif": "NIF", "pt.cc": "CC", "se.personnummer": "personnummer", "dk.cpr": "CPR"},
    **{"fi.hetu": "HETU", "fr.siren": "SIREN", "fr.siret": "SIRET"},
}


@pytest.mark.parametrize("module", sorted(NATIONAL_MODULES))
def test_national_ids_of_python_stdnums_own_examples(scanner: Scanner, module: str) -> None:
    """The valid examples in python-stdnum's documentation of each supported identifier, as
    written there and compact, after their label: each is found whole."""
    import importlib

    mod = importlib.import_module(f"stdnum.{module}")
    doc = mod.__doc__ or ""
    examples = re.findall(
        r">>> (?:validate|compact|format)\('([^']+)'\)(?:[ \t]*#[^\n]*)?\n'([^']+)'", doc
    )
    written_all = {w for pair in examples for w in (pair[0].strip(), pair[1]) if mod.is_valid(w)}
    if module == "it.codicefiscale":  # the personal form; the 11-digit company form is not
        written_all = {w for w in written_all if len(w) == 16}  # detected (closing note)
    assert written_all, f"stdnum.{module} documents no valid example this test can read"
    for written in written_all:
        got = [f.text for f in scanner.scan(f"{NATIONAL_MODULES[module]} : {written}.")]
        assert written in got, (module, written, got)
