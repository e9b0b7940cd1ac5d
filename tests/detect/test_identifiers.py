"""True positives with real-world formatting, rejected checksums and business-text look-alikes."""

from __future__ import annotations

import itertools

import pytest

from souverain.detect import Finding, Scanner, register_detector, unregister_detector


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(["strictement confidentiel", r"re:\bPRJ-\d{4}\b"])


def one(scanner: Scanner, text: str) -> Finding:
    found = [f for f in scanner.scan(text) if f.type != "person_name"]
    assert len(found) == 1, [(f.type, f.text) for f in found]
    return found[0]


TRUE_POSITIVES = [
    # (text, type, country, value)
    ("NIR : 2 95 10 99 126 111 93.", "national_id", "FR", "2 95 10 99 126 111 93"),
    ("NIR 295109912611193", "national_id", "FR", "295109912611193"),
    ("NIR 2 95 10 99\n126 111 93", "national_id", "FR", "2 95 10 99\n126 111 93"),
    ("SIREN 732 829 320", "company_id", "FR", "732 829 320"),
    ("SIRET: 732 829 320 00074", "company_id", "FR", "732 829 320 00074"),
    ("Steuer-ID 36 574 261 809", "national_id", "DE", "36 574 261 809"),
    ("IdNr. 36574261809", "national_id", "DE", "36574261809"),
    ("codice fiscale RCCMNL83S18D969H", "national_id", "IT", "RCCMNL83S18D969H"),
    ("c.f. rccmnl83s18d969h", "national_id", "IT", "rccmnl83s18d969h"),
    # a company's codice fiscale (its partita IVA): 11 digits, weak check, so only labelled
    ("codice fiscale 00743110157", "company_id", "IT", "00743110157"),
    ("P.IVA 007 431 101 57", "company_id", "IT", "007 431 101 57"),
    ("DNI 12.345.678-Z", "national_id", "ES", "12.345.678-Z"),
    ("DNI 12345678z", "national_id", "ES", "12345678z"),
    ("NIE x-2482300w", "national_id", "ES", "x-2482300w"),
    ("BSN 1112.22.333", "national_id", "NL", "1112.22.333"),
    ("rijksregisternummer 85.07.30-033.28", "national_id", "BE", "85.07.30-033.28"),
    ("PESEL 44051401359", "national_id", "PL", "44051401359"),
    ("SVNR 1237 010180", "national_id", "AT", "1237 010180"),
    ("NIF 123 456 789", "national_id", "PT", "123 456 789"),
    ("Cartão de Cidadão 00000000 0 ZZ4", "national_id", "PT", "00000000 0 ZZ4"),
    ("personnummer 880320-0016", "national_id", "SE", "880320-0016"),
    ("CPR 211062-5629", "national_id", "DK", "211062-5629"),
    ("henkilötunnus 131052-308T", "national_id", "FI", "131052-308T"),
    ("IBAN FR76 3000 6000 0112 3456 7890 189.", "iban", "FR", "FR76 3000 6000 0112 3456 7890 189"),
    ("iban de89370400440532013000", "iban", "DE", "de89370400440532013000"),
    ("IBAN NL91-ABNA-0417-1643-00", "iban", "NL", "NL91-ABNA-0417-1643-00"),
    ("IBAN GB82\nWEST 1234 5698 7654 32", "iban", "GB", "GB82\nWEST 1234 5698 7654 32"),
    ("carte 4111 1111 1111 1111", "payment_card", None, "4111 1111 1111 1111"),
    ("card 5500-0000-0000-0004", "payment_card", None, "5500-0000-0000-0004"),
    ("amex 3782 822463 10005", "payment_card", None, "3782 822463 10005"),
    ("TVA FR40303265045", "vat_id", "FR", "FR40303265045"),
    ("USt-IdNr. DE 136695976", "vat_id", "DE", "DE 136695976"),
    ("BTW NL004495445B01", "vat_id", "NL", "NL004495445B01"),
    ("appelez le 06 12 34 56 78", "phone", None, "06 12 34 56 78"),
    ("call +33 6 12 34 56 78 now", "phone", "FR", "+33 6 12 34 56 78"),
    ("Tel. +49 (0)30 1234567", "phone", "DE", "+49 (0)30 1234567"),
    ("Tel. 0171/1234567", "phone", None, "0171/1234567"),
    ("móvil 612 345 678", "phone", None, "612 345 678"),
    ("write to jane.doe+x@example.co.uk.", "email", None, "jane.doe+x@example.co.uk"),
    ("host 192.168.10.254 down", "ip_address", None, "192.168.10.254"),
    ("host 2001:db8::8a2e:370:7334 down", "ip_address", None, "2001:db8::8a2e:370:7334"),
    ("key sk-proj-abcdefghijklmnopqrstuvwxyz123456", "secret", None, None),
    ("AKIAIOSFODNN7EXAMPLE", "secret", None, "AKIAIOSFODNN7EXAMPLE"),
    ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "secret", None, None),
    ("Authorization: Bearer abcdefghijklmnop1234567890", "secret", None, None),
    ("xoxb-123456789012-abcdefghijkl", "secret", None, None),
    ("AIzaSyA-abcdefghijklmnopqrstuvwxyz0123456", "secret", None, None),
    ("sk_live_abcdefghijklmnop1234", "secret", None, None),
    ("password: Hunter2Hunter2", "secret", None, "Hunter2Hunter2"),
    ("Document STRICTEMENT  CONFIDENTIEL.", "confidential_marker", None, None),
    ("code PRJ-1234 here", "confidential_marker", None, "PRJ-1234"),
]


@pytest.mark.parametrize(("text", "kind", "country", "value"), TRUE_POSITIVES)
def test_true_positives(
    scanner: Scanner, text: str, kind: str, country: str | None, value: str | None
) -> None:
    f = one(scanner, text)
    assert f.type == kind
    assert f.country == country or (kind in ("phone", "vat_id") and f.country is not None)
    if value is not None:
        assert f.text == value
    assert text[f.start : f.end] == f.text


def test_pem_and_jwt_and_mrz(scanner: Scanner) -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----"
    assert one(scanner, f"here:\n{pem}\nthanks").text == pem
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    assert one(scanner, f"token {jwt}").type == "secret"
    mrz = (
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
    )
    assert one(scanner, f"MRZ:\n{mrz}\n").type == "mrz"
    bad = mrz[:-1] + "1"
    assert not [f for f in scanner.scan(bad) if f.type == "mrz"]


INVALID = [
    "NIR 2 95 10 99 126 111 94",  # key off by one
    "SIREN 732 829 321",
    "Steuer-ID 36 574 261 808",
    "codice fiscale RCCMNL83S18D969J",
    "codice fiscale 00743110158",
    "DNI 12345678A",
    "NIE X2482300A",
    "BSN 111222334",
    "PESEL 44051401358",
    "IBAN FR76 3000 6000 0112 3456 7890 188",
    "carte 4111 1111 1111 1112",
    "TVA FR41303265045",
    "henkilötunnus 131052-308U",
    "personnummer 880320-0018",
]


@pytest.mark.parametrize("text", INVALID)
def test_invalid_checksums_rejected(scanner: Scanner, text: str) -> None:
    assert [f for f in scanner.scan(text) if f.type not in ("phone", "person_name")] == []


BUSINESS = [
    "Commande n° 2024-00123 du 12.03.2024, montant 1 234,56 EUR, facture 4500012345.",
    "Bestellnummer 123456789 vom 01.02.2024 über 1.234,56 €; Lieferung 14:30 Uhr.",
    "Invoice INV-000123, PO 78451236, EAN 4006381333931, total €12,450.00 (12,5 %).",
    "Ordine 732829320 del 2024-03-12, lotto 2403-118, versione 2.4.1, ticket #48213.",
    "Ordine 00743110157 del 2024-03-12: spedizione 2403118, colli 3.",
    "Ref. 2024 06 1234, dossier 23-0457, pedido 98765432, referencia 066 577 008.",
    "Tracking 1Z999AA10123456784, SSCC 003404341234567890, Sendung JJD000390007829876543.",
    "Release 10.0.19041.1 shipped at 10:30:00 on 2024-01-15; build 20240115-0042.",
    "Kundennummer 0004711, Artikel 802.758.87, Menge 12, Preis 19,99 €.",
]


@pytest.mark.parametrize("text", BUSINESS)
def test_business_texts_have_no_findings(scanner: Scanner, text: str) -> None:
    assert [(f.type, f.text) for f in scanner.scan(text)] == []


def test_overlaps_resolved_to_the_validated_type(scanner: Scanner) -> None:
    text = "IBAN FR76 3000 6000 0112 3456 7890 189 et SIRET 363 343 336 00246"
    found = scanner.scan(text)
    assert [f.type for f in found] == ["iban", "company_id"]
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))


def test_categories(scanner: Scanner) -> None:
    text = "AKIAIOSFODNN7EXAMPLE PRJ-1234 SIREN 732 829 320"
    cats = {f.type: f.category for f in scanner.scan(text)}
    assert cats == {"secret": "secret", "confidential_marker": "confidential",
                    "company_id": "personal_data"}  # fmt: skip


def test_types_filter_and_unknown_type() -> None:
    s = Scanner(types=["email"], names=False)
    assert [f.type for f in s.scan("a@b.fr SIREN 732 829 320")] == ["email"]
    with pytest.raises(ValueError):
        Scanner(types=["nope"])


def test_registered_detector_is_used() -> None:
    def factory(options: object):  # type: ignore[no-untyped-def]
        return lambda text: [Finding("person_name", 0, 3, text[:3], None, "ner", 1)]

    register_detector("test_ner", factory)
    try:
        assert Scanner(names=False).scan("Bob went home")[0].validator == "ner"
    finally:
        unregister_detector("test_ner")
    assert Scanner(names=False).scan("Bob went home") == []


def test_value_never_in_repr(scanner: Scanner) -> None:
    f = one(scanner, "SIREN 732 829 320")
    assert "732" not in repr(f)
    assert "text" not in f.to_dict()


def test_remembered_words_are_scanned_once_and_answered_the_same() -> None:
    """The wire format's words (keys, roles) are scanned once per scanner, not per request; a
    word the config makes sensitive (a marker) is still found every time."""
    scanner = Scanner(confidential_markers=["content"])
    scanner.remember_clean(frozenset({"content", "role", "user"}))
    calls: list[str] = []
    inner = scanner._scan
    scanner._scan = lambda text: calls.append(text) or inner(text)  # type: ignore[method-assign]
    assert scanner.scan("role") == [] and scanner.scan("user") == []
    assert [f.type for f in scanner.scan("content")] == ["confidential_marker"]
    assert calls == ["content"]
