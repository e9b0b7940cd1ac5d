"""prepare_capture applies the data actions before anything is stored."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest

from souverain.capture import prepare_capture, replaced_categories
from souverain.detect import Scanner
from tests.capture.helpers import chat, planted, spellings, use_case

ALLOW_ALL = {"personal_data": "allow", "secrets": "allow", "confidential": "allow"}


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(confidential_markers=["strictement confidentiel"])


@pytest.fixture(scope="module")
def values() -> dict[str, str]:
    return planted()


def stored_text(item: object) -> str:
    assert item is not None
    return json.dumps([item.payload, item.answer], ensure_ascii=False)  # type: ignore[attr-defined]


def test_scanner_finds_every_planted_value(scanner: Scanner, values: dict[str, str]) -> None:
    # precondition: otherwise "not stored" below proves nothing
    for kind, value in values.items():
        assert scanner.scan(f"value: {value} .") != [], kind


@pytest.mark.parametrize("action", ["pseudonymize", "keep-local", "block"])
def test_no_planted_value_survives(scanner: Scanner, values: dict[str, str], action: str) -> None:
    uc = use_case(policy={"personal_data": action, "secrets": "allow"})
    messages = chat(values)
    before = copy.deepcopy(messages)
    item = prepare_capture(
        uc,
        messages,
        scanner,
        request_id="r1",
        backend="local",
        answer=f"Noted {values['email']} and IBAN {values['iban']}.",
        params={"max_tokens": 64, "temperature": 0.2, "stop": [values["email"]], "user": "x"},
        stream=True,
    )
    text = stored_text(item)
    for value in values.values():
        for spelling in spellings(value):
            assert spelling not in text
    assert messages == before  # input untouched
    assert item is not None and item.kind == "chat"
    # same value -> same placeholder in request and answer: they still line up
    assert "<EMAIL_1>" in item.payload["messages"][4]["content"]
    assert item.answer is not None and item.answer.startswith("Noted <EMAIL_1> and IBAN <IBAN_1>")
    # counted over the request (two messages and `stop`), never the answer
    assert item.data_types["email"] == 3 and item.data_types["iban"] == 1
    assert item.payload["max_tokens"] == 64 and item.payload["stream"] is True
    assert item.payload["stop"] == ["<EMAIL_1>"]
    assert "user" not in item.payload  # only the generation params
    assert "name" not in item.payload["messages"][1]  # participant name dropped
    assert item.payload["messages"][1]["content"][1] == {"type": "image_url", "omitted": True}
    assert "ZEBRACANARY" in text  # the rest is kept


def test_allow_keeps_personal_data_but_never_secrets(
    scanner: Scanner, values: dict[str, str]
) -> None:
    item = prepare_capture(use_case(policy=ALLOW_ALL), chat(values), scanner, request_id="r")
    text = stored_text(item)
    assert values["email"] in text  # personal_data: allow -> stored as written
    assert values["secret"] not in text  # secrets: always replaced
    assert replaced_categories(use_case(policy=ALLOW_ALL)) == {"secret"}


def test_only_categories_not_allowed_are_replaced(scanner: Scanner, values: dict[str, str]) -> None:
    uc = use_case(policy={"personal_data": "pseudonymize", "secrets": "block"})
    assert replaced_categories(uc) == {"personal_data", "secret", "confidential"}


def test_confidential_text_is_not_captured(scanner: Scanner) -> None:
    messages = [{"role": "user", "content": "Strictement confidentiel : le plan Alpha."}]
    assert prepare_capture(use_case(), messages, scanner, request_id="r") is None
    allowed = prepare_capture(use_case(policy=ALLOW_ALL), messages, scanner, request_id="r")
    assert allowed is not None and "plan Alpha" in stored_text(allowed)
    # a marker in the answer counts too
    clean = [{"role": "user", "content": "Résume le plan."}]
    assert (
        prepare_capture(
            use_case(), clean, scanner, request_id="r", answer="Strictement confidentiel."
        )
        is None
    )


def test_completion_prompt(scanner: Scanner, values: dict[str, str]) -> None:
    uc = use_case(policy={"personal_data": "pseudonymize"})
    item = prepare_capture(uc, f"Write to {values['email']}", scanner, request_id="r")
    assert item is not None and item.kind == "completion"
    assert item.payload["prompt"] == "Write to <EMAIL_1>"
    item = prepare_capture(uc, ["a", f"b {values['iban']}"], scanner, request_id="r")
    assert item is not None and item.payload["prompt"] == ["a", "b <IBAN_1>"]
    # token ids cannot be scanned: not captured
    assert prepare_capture(uc, [1, 2, 3], scanner, request_id="r") is None  # type: ignore[arg-type]


def test_refused_use_case_gives_none(scanner: Scanner) -> None:
    uc = use_case(allow_sensitive=False)
    assert prepare_capture(uc, "hello", scanner, request_id="r") is None


def test_expiry_from_retention(scanner: Scanner) -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    item = prepare_capture(
        use_case(retention_days=7, max_items=3), "hi", scanner, request_id="r", now=now
    )
    assert item is not None
    assert item.captured_at == now and item.expires_at == now + timedelta(days=7)
    assert item.max_items == 3 and 0 <= item.sample_key < 1
    json.dumps(item.payload)  # JSON-serialisable


def test_truncated_copy_in_the_answer_is_scrubbed(scanner: Scanner, values: dict[str, str]) -> None:
    """A model that stops half-way through an IBAN repeats a fragment no checksum validates."""
    uc = use_case(policy={"personal_data": "pseudonymize"})
    iban = values["iban"]
    fragment = iban[: len(iban) * 2 // 3].rstrip()
    item = prepare_capture(
        uc,
        [{"role": "user", "content": f"Pay to {iban}"}],
        scanner,
        request_id="r2",
        answer=f"Paid to {fragment}",
    )
    assert item is not None and item.answer == "Paid to <IBAN_1>"
