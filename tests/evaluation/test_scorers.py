"""Scorers on hand-made outputs, malformed model output included: they never raise."""

from __future__ import annotations

import pytest

from souverain.evaluation.scorers import (
    SCORERS,
    extract_json_object,
    normalize_date,
    parse_number,
    score_output,
)

KYC = SCORERS["json_fields"].options(
    fields=["name", "date_of_birth", "nationality", "iban", "national_id"],
    normalize={
        "date_of_birth": "date",
        "nationality": "country",
        "iban": "compact",
        "national_id": "compact",
    },
)
EXPECTED = {
    "name": "Éléonore Meunier",
    "date_of_birth": "1950-12-04",
    "nationality": "FR",
    "iban": "FR5614418170361063883398574",
    "national_id": "250124783931486",
}
FULL = (
    '{"name": "Eleonore  MEUNIER", "date_of_birth": "04/12/1950", "nationality": "française", '
    '"iban": "FR56 1441 8170 3610 6388 3398 574", "national_id": "2 50 12 47 839 314 86"}'
)


def kyc(output: object) -> tuple[float, dict]:
    result = score_output("json_fields", KYC, EXPECTED, output)
    return result.score, result.details


@pytest.mark.parametrize(
    ("output", "how"),
    [
        (FULL, "clean"),
        ("Sure! Here is the JSON:\n" + FULL + "\nLet me know if you need more.", "embedded"),
        ("```json\n" + FULL + "\n```", "fenced"),
        ("```\n" + FULL, "fenced"),  # unclosed fence
        (FULL + "}}} trailing garbage {", "embedded"),
        (FULL[:-1] + ",}", "clean"),  # trailing comma
        ("JSON: " + FULL[:-1] + ",}\n\nUser:", "embedded"),
    ],
)
def test_json_fields_finds_the_object_and_normalises_fields(output: str, how: str) -> None:
    score, details = kyc(output)
    assert details["json"] == how
    assert score == 1.0, details
    assert details["fields"] == dict.fromkeys(EXPECTED, "correct")


def test_truncated_json_keeps_the_complete_members() -> None:
    cut = FULL[: FULL.index('"national_id"') + 20]  # inside the last value
    score, details = kyc(cut)
    assert details["json"] == "repaired"
    assert details["tp"] == 4 and details["fn"] == 1 and details["fp"] == 0
    assert score == pytest.approx(2 * 1 * 0.8 / 1.8)
    # cut right after a complete value: closing the object is enough
    closed = FULL[:-1]
    assert kyc(closed)[0] == 1.0
    assert kyc(closed)[1]["json"] == "repaired"


@pytest.mark.parametrize(
    "output",
    [
        "",
        None,
        "I cannot help with that.",
        "{",
        '{"name": ',
        "{{{{[[[[",
        "[1, 2, 3]",
        '"just a string"',
        "{" * 5000 + "}" * 5000,
        "[" * 100000,
        "```json\n```",
        '{"name": "a"} ' * 1000,
        '\x00\ufffd{"name": "\ud800"}',
        12345,
    ],
)
def test_malformed_output_scores_zero_without_raising(output: object) -> None:
    score, details = kyc(output)
    assert 0.0 <= score <= 1.0
    assert "error" not in details
    assert details["fields"]["iban"] in ("missing",)


def test_field_errors_precision_and_recall() -> None:
    expected = dict(EXPECTED, iban=None)
    output = '{"name": "Éléonore Meunier", "iban": "FR00 1234", "nationality": "DE"}'
    result = score_output("json_fields", KYC, expected, output)
    d = result.details
    assert d["fields"] == {
        "name": "correct",
        "date_of_birth": "missing",
        "nationality": "wrong",
        "iban": "spurious",
        "national_id": "missing",
    }
    assert (d["tp"], d["fp"], d["fn"]) == (1, 2, 3)
    assert d["precision"] == pytest.approx(1 / 3) and d["recall"] == pytest.approx(1 / 4)
    assert result.score == pytest.approx(2 * (1 / 3) * (1 / 4) / (1 / 3 + 1 / 4))


def test_absent_fields_on_both_sides_are_not_counted() -> None:
    expected = {"name": "A B", "iban": None}
    opts = SCORERS["json_fields"].options(fields=["name", "iban"])
    assert score_output("json_fields", opts, expected, '{"name": "a b", "iban": null}').score == 1.0
    assert (
        score_output("json_fields", opts, expected, '{"name": "a b", "iban": "n/a"}').score == 1.0
    )
    both_empty = score_output("json_fields", opts, {"name": None}, "{}")
    assert both_empty.score == 1.0


def test_extract_json_object_cases() -> None:
    assert extract_json_object('{"a": 1}') == ({"a": 1}, "clean")
    assert extract_json_object('text {"a": {"b": [1, {"c": 2}]}} more') == (
        {"a": {"b": [1, {"c": 2}]}},
        "embedded",
    )
    assert extract_json_object('{bad} then {"a": "}"}') == ({"a": "}"}, "embedded")
    assert extract_json_object('{"a": "x\\"y", "b": "trunc') == ({"a": 'x"y'}, "repaired")
    assert extract_json_object('{"a": "x", "b": [1, 2') == ({"a": "x", "b": [1, 2]}, "repaired")
    assert extract_json_object('{"a": 1, "b": {"c": 2') == ({"a": 1, "b": {"c": 2}}, "repaired")
    assert extract_json_object("no json") == (None, "none")


def test_label_takes_the_first_label_mentioned() -> None:
    opts = SCORERS["label"].options(labels=["invoice", "bank_statement", "id_card", "contract"])
    label = SCORERS["label"]
    assert label.predict(" invoice\nUser: Document:", opts) == "invoice"
    assert label.predict("This is a Bank Statement, not an invoice.", opts) == "bank_statement"
    assert label.predict("id-card", opts) == "id_card"
    assert label.predict("ID_CARD", opts) == "id_card"
    assert label.predict("contractor agreement", opts) is None  # whole words only
    assert label.predict("", opts) is None
    assert score_output("label", opts, "invoice", "Type: invoice").score == 1.0
    assert score_output("label", opts, "contract", "invoice").score == 0.0
    aliased = SCORERS["label"].options(
        labels=["invoice", "contract"], aliases={"invoice": ["facture"]}
    )
    assert label.predict("C'est une facture.", aliased) == "invoice"


def test_exact_contains_regex_numeric() -> None:
    exact = SCORERS["exact"].options()
    assert score_output("exact", exact, "Paris", "  Paris\n").score == 1.0
    assert score_output("exact", exact, "Paris", "paris").score == 0.0
    folded = SCORERS["exact"].options(normalize=True)
    assert score_output("exact", folded, "Zürich", " ZURICH ").score == 1.0
    assert score_output("exact", exact, 42, "42").score == 1.0

    contains = SCORERS["contains"].options()
    assert (
        score_output("contains", contains, "Société Générale", "chez la SOCIETE  generale").score
        == 1.0
    )
    assert score_output("contains", contains, ["a b", "zz"], "xx A  B").score == 0.5

    regex = SCORERS["regex"].options()
    assert score_output("regex", regex, r"\bFR\d{2}\b", "iban fr76 ...").score == 1.0
    full = SCORERS["regex"].options(fullmatch=True, ignore_case=False)
    assert score_output("regex", full, r"\d+", " 123 ").score == 1.0
    assert score_output("regex", full, r"\d+", "123 apples").score == 0.0

    numeric = SCORERS["numeric"].options(abs_tol=0.01)
    assert score_output("numeric", numeric, 1234.5, "Total: 1 234,50 €").score == 1.0
    assert score_output("numeric", numeric, 1234.5, "1,234.50").score == 1.0
    assert score_output("numeric", numeric, 1234.5, "1.234,5").score == 1.0
    assert score_output("numeric", numeric, 1234.5, "no number").score == 0.0
    rel = SCORERS["numeric"].options(rel_tol=0.05)
    assert score_output("numeric", rel, 100, "about 104").score == 1.0
    assert score_output("numeric", rel, 100, "about 106").score == 0.0


def test_parsers() -> None:
    assert parse_number("−3,5") == -3.5
    assert parse_number("1'000'000") == 1_000_000
    assert parse_number("1.000.000") == 1_000_000
    assert parse_number("x") is None
    assert normalize_date("born 7.3.1980") == "1980-03-07"
    assert normalize_date("1980/03/07") == "1980-03-07"
    assert normalize_date("31/02/1980") is None
    assert normalize_date("March 7") is None


def test_every_scorer_survives_garbage() -> None:
    samples = {
        "exact": "x",
        "contains": "x",
        "regex": "x+",
        "numeric": 1.0,
        "json_fields": {"a": "b"},
    }
    opts = {
        "label": SCORERS["label"].options(labels=["a", "b"]),
        "json_fields": SCORERS["json_fields"].options(fields=["a"]),
        "recall_at_k": SCORERS["recall_at_k"].options(corpus={"d-1": "a", "d-2": "b"}),
    }
    samples["label"] = "a"
    samples["recall_at_k"] = "d-1"
    for name, scorer in SCORERS.items():
        options = opts.get(name) or scorer.options()
        for garbage in ("", None, "{" * 3000, "\ud800", 3.5, ["x"]):
            result = score_output(name, options, samples[name], garbage)
            assert 0.0 <= result.score <= 1.0
