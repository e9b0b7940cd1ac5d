"""Suite loading: built-in names, paths, and errors that name the file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stdnum import iban as std_iban
from stdnum import luhn  # noqa: F401  (stdnum present)
from stdnum.be import nn as be_nn
from stdnum.de import idnr as de_idnr
from stdnum.es import dni as es_dni
from stdnum.fr import nir as fr_nir
from stdnum.it import codicefiscale as it_cf
from stdnum.nl import bsn as nl_bsn
from stdnum.pl import pesel as pl_pesel
from stdnum.pt import cc as pt_cc

from souverain.evaluation.suite import SuiteError, builtin_suites, load_suite, score

HEADER = """\
name: mini
scorer: label
options: {labels: [spam, ham]}
generation: {max_tokens: 4, stop: ["\\n"]}
prefix_messages:
  - {role: system, content: Answer spam or ham.}
"""


def item(i: int, **over: object) -> str:
    base = {"id": f"q{i}", "messages": [{"role": "user", "content": f"q{i}?"}], "expected": "spam"}
    return json.dumps(base | over)


def write(tmp_path: Path, lines: list[str], header: str = HEADER) -> Path:
    (tmp_path / "mini.suite.yaml").write_text(header)
    path = tmp_path / "mini.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_builtin_suites_load_and_score_their_own_answers() -> None:
    assert {"kyc-extract", "doc-classify"} <= set(builtin_suites())
    for name in ("kyc-extract", "doc-classify"):
        suite = load_suite(name)
        assert suite.name == name and suite.source == f"builtin:{name}"
        assert len(suite.items) >= 50 and len(suite.digest) == 64
        assert suite.generation["temperature"] == 0 and suite.generation["stop"]
        for it in suite.items:
            assert it.messages[0]["role"] == "system" and it.messages[-1]["role"] == "user"
            perfect = json.dumps(it.expected) if isinstance(it.expected, dict) else it.expected
            assert score(suite, it, perfect).score == 1.0
            assert score(suite, it, "").score < 1.0 or it.expected == {}


CHECKS = {
    "FR": fr_nir.is_valid,
    "DE": de_idnr.is_valid,
    "IT": it_cf.is_valid,
    "ES": es_dni.is_valid,
    "NL": nl_bsn.is_valid,
    "PL": pl_pesel.is_valid,
    "BE": be_nn.is_valid,
    "PT": pt_cc.is_valid,
}


def test_kyc_identifiers_are_valid_and_languages_vary() -> None:
    suite = load_suite("kyc-extract")
    langs = {it.metadata["lang"] for it in suite.items}
    assert langs == {"fr", "de", "it", "es", "nl", "pl"}
    nulls = 0
    for it in suite.items:
        exp = it.expected
        assert exp["iban"] is None or std_iban.is_valid(exp["iban"]), it.id
        if exp["national_id"] is None:
            nulls += 1
        else:
            assert CHECKS[exp["nationality"]](exp["national_id"]), it.id
        text = it.messages[-1]["content"]
        assert exp["name"] in text
    assert 0 < nulls < len(suite.items) // 2


def test_doc_classify_labels_are_balanced() -> None:
    suite = load_suite("doc-classify")
    counts: dict[str, int] = {}
    for it in suite.items:
        counts[it.expected] = counts.get(it.expected, 0) + 1
    assert set(counts) == set(suite.options["labels"])
    assert max(counts.values()) - min(counts.values()) <= 1


def test_load_by_either_path(tmp_path: Path) -> None:
    path = write(tmp_path, [item(1), item(2, expected="ham")])
    for p in (path, tmp_path / "mini.suite.yaml"):
        suite = load_suite(str(p))
        assert [i.id for i in suite.items] == ["q1", "q2"]
        assert suite.items[0].messages[0] == {"role": "system", "content": "Answer spam or ham."}
        assert suite.generation == {"max_tokens": 4, "temperature": 0.0, "stop": ["\n"]}
        assert score(suite, suite.items[1], "Ham.").score == 1.0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "mini.jsonl:2: not valid JSON"),
        ("[1]", "mini.jsonl:2: an item must be a JSON object"),
        (
            item(2, messages=[{"role": "robot", "content": "x"}]),
            "mini.jsonl:2: messages[0].role: Input should be",
        ),
        (item(2, messages=[{"role": "user"}]), "mini.jsonl:2: messages[0].content: Field required"),
        (item(2, messages=[]), "mini.jsonl:2: messages: List should have at least 1 item"),
        (item(2, expected="maybe"), "mini.jsonl:2: expected: must be one of the suite's labels"),
        (item(1), "mini.jsonl:2: id: duplicate id 'q1' (first on line 1)"),
        (item(2, extra=1), "mini.jsonl:2: extra: Extra inputs are not permitted"),
        (
            json.dumps({"messages": [{"role": "user", "content": "x"}], "expected": "spam"}),
            "mini.jsonl:2: id: Field required",
        ),
    ],
)
def test_item_errors_name_file_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, [item(1), line])
    with pytest.raises(SuiteError) as err:
        load_suite(str(path))
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, [item(1), "", item(3, expected=7)])
    with pytest.raises(SuiteError, match=r"mini\.jsonl:3: expected"):
        load_suite(str(path))


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("name: mini\nscorer: bleu\n", "scorer: unknown scorer 'bleu'"),
        ("name: mini\nscorer: label\n", "options: labels: Field required"),
        (
            "name: mini\nscorer: label\noptions: {labels: [a, b], colour: red}\n",
            "options: colour: Extra inputs",
        ),
        (
            "name: mini\nscorer: exact\ngeneration: {max_tokens: 0}\n",
            "generation.max_tokens: Input should be greater",
        ),
        (
            "name: mini\nscorer: exact\ngeneration: {temprature: 0}\n",
            "generation.temprature: Extra inputs",
        ),
        ("name: Mini Suite\nscorer: exact\n", "name: String should match pattern"),
        ("- a list\n", "the header must be a mapping"),
        ("name: [unclosed\n", "not valid YAML"),
        (
            "name: mini\nscorer: exact\nprefix_messages: [{role: x, content: y}]\n",
            "prefix_messages[0].role",
        ),
    ],
)
def test_header_errors_name_the_field(tmp_path: Path, header: str, message: str) -> None:
    path = write(tmp_path, [item(1)], header=header)
    with pytest.raises(SuiteError) as err:
        load_suite(str(path))
    assert message in str(err.value)
    assert "mini.suite.yaml" in str(err.value)


def test_missing_files_and_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match=r"not a built-in suite .*kyc-extract"):
        load_suite("no-such-suite")
    (tmp_path / "lonely.jsonl").write_text(item(1) + "\n")
    with pytest.raises(SuiteError, match=r"lonely\.suite\.yaml: file not found"):
        load_suite(str(tmp_path / "lonely.jsonl"))
    (tmp_path / "empty.suite.yaml").write_text("name: empty\nscorer: exact\n")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(SuiteError, match=r"empty\.jsonl: no items"):
        load_suite(str(tmp_path / "empty.jsonl"))
    (tmp_path / "empty.suite.yml").write_text("name: empty\n")
    with pytest.raises(SuiteError, match=r"a suite is a <name>\.jsonl file"):
        load_suite(str(tmp_path / "empty.suite.yml"))


def test_regex_expected_must_compile(tmp_path: Path) -> None:
    header = "name: mini\nscorer: regex\n"
    path = write(tmp_path, [item(1, expected="(unclosed")], header=header)
    with pytest.raises(
        SuiteError, match=r"mini\.jsonl:1: expected: not a valid regular expression"
    ):
        load_suite(str(path))
