"""Pseudonymise -> restore round trips, streaming restore and tool-call JSON validity."""

from __future__ import annotations

import json

from hypothesis import given, note, settings
from hypothesis import strategies as st

from souverain.detect import Finding, Scanner
from souverain.policy.pseudonymize import (
    Pseudonymizer,
    StreamRestorer,
    pseudonymize_messages,
    pseudonymize_prompt,
)

SCANNER = Scanner(names=True)
TEXT = (
    "Mme Claire Dubois (claire.dubois@example.fr, tél. 06 12 34 56 78) "
    "IBAN FR76 3000 6000 0112 3456 7890 189; again claire.dubois@example.fr "
    "and CLAIRE.DUBOIS@EXAMPLE.FR; other bob@example.org."
)


def test_placeholders_are_typed_stable_and_distinct() -> None:
    p = Pseudonymizer()
    out = p.pseudonymize(TEXT, SCANNER.scan(TEXT))
    assert "example.fr" not in out and "3000" not in out
    assert out.count("<EMAIL_1>") == 3  # same value, any case: one placeholder
    assert "<EMAIL_2>" in out
    assert "<PERSON_NAME_1>" in out and "<IBAN_1>" in out and "<PHONE_1>" in out
    assert p.restore(out) == TEXT.replace("CLAIRE.DUBOIS@EXAMPLE.FR", "claire.dubois@example.fr")


def test_country_in_label_for_national_ids() -> None:
    p = Pseudonymizer()
    text = "SIREN 732 829 320, NIR 2 95 10 99 126 111 93"
    out = p.pseudonymize(text, SCANNER.scan(text))
    assert out == "SIREN <COMPANY_ID_FR_1>, NIR <NATIONAL_ID_FR_1>"


RESPELLINGS = (
    "<NATIONAL_ID_FR_1>",
    "<national_id_fr_1>",  # case
    "< NATIONAL_ID_FR_1 >",  # spaces inside the brackets
    "<  NATIONAL_ID_FR_1  >",
    "<NATIONAL ID FR 1>",  # spaces for underscores
    "<National-Id-Fr-1>",
    "<NATIONAL_ID _ FR_ 1>",  # a space on either side of an underscore
    "&lt;NATIONAL_ID_FR_1&gt;",  # HTML-escaped
    "\\u003cNATIONAL_ID_FR_1\\u003e",  # JSON-escaped (written literally)
    "NATIONAL_ID_FR_1",  # bare
    "national_id_fr_1",
    "NATIONAL\\_ID\\_FR\\_1",  # markdown-escaped underscores
)
#: look-alikes that are not the placeholder: left as written
NOT_RESPELLINGS = (
    "NATIONAL ID FR 1",  # bare with spaces: ordinary text
    "MY_NATIONAL_ID_FR_1",  # part of another name
    "NATIONAL_ID_FR_12",  # another number
    "NATIONAL_ID_FR_1x",
    "<NATIONAL_ID_FR_2>",  # not generated
    "<NATIONAL ID FR 1",  # spaces for underscores need both brackets
    "<NATIONAL__ID_FR_1>",
)


def _one_nir() -> Pseudonymizer:
    p = Pseudonymizer()
    text = "NIR 2 95 10 99 126 111 93"
    assert p.pseudonymize(text, SCANNER.scan(text)) == "NIR <NATIONAL_ID_FR_1>"
    return p


def test_restore_accepts_exactly_the_documented_respellings() -> None:
    p = _one_nir()
    for variant in RESPELLINGS:
        assert p.restore(f"x {variant}, y") == "x 2 95 10 99 126 111 93, y", variant
        assert p.restore(f"({variant})") == "(2 95 10 99 126 111 93)", variant
    for other in NOT_RESPELLINGS:
        assert p.restore(f"x {other}, y") == f"x {other}, y", other


def test_restore_tolerates_model_variants() -> None:
    p = Pseudonymizer()
    p.pseudonymize("a@b.fr", [Finding("email", 0, 6, "a@b.fr")])
    for variant in ("<EMAIL_1>", "<email_1>", "< EMAIL_1 >", "&lt;EMAIL_1&gt;", "EMAIL_1"):
        assert p.restore(f"x {variant} y") == "x a@b.fr y"
    assert p.restore("<EMAIL_2> <PHONE_1>") == "<EMAIL_2> <PHONE_1>"  # unknown: untouched


def test_client_written_placeholder_is_not_reused() -> None:
    p = Pseudonymizer()
    text = "literal <EMAIL_1> and a@b.fr"
    out = p.pseudonymize(text, SCANNER.scan(text))
    assert out == "literal <EMAIL_1> and <EMAIL_2>"


def test_names_the_client_wrote_anywhere_in_the_request_are_never_generated() -> None:
    """A look-alike in another message, in any accepted spelling, is the client's: the
    generated name differs, and the answer's copy of the client's look-alike is left alone."""
    messages = [
        {"role": "system", "content": "Columns: email_1, &lt;EMAIL_2&gt;, < email 3 >"},
        {"role": "user", "content": "Mail a@b.fr"},
    ]
    result = pseudonymize_messages(messages, SCANNER)
    assert result.messages[1]["content"] == "Mail <EMAIL_4>"
    p = result.pseudonymizer
    assert (
        p.restore("EMAIL_1 <EMAIL_2> <EMAIL_3> <EMAIL_4>") == "EMAIL_1 <EMAIL_2> <EMAIL_3> a@b.fr"
    )


def _pseudonymizer_with(values: list[str]) -> tuple[Pseudonymizer, str]:
    p = Pseudonymizer()
    text = " ".join(values)
    findings, pos = [], 0
    for v in values:
        findings.append(Finding("email", pos, pos + len(v), v))
        pos += len(v) + 1
    return p, p.pseudonymize(text, findings)


# e-mails compare case-insensitively: values that differ only by case share a placeholder
values = st.lists(
    st.text(min_size=1, max_size=12), min_size=1, max_size=5, unique_by=lambda v: v.casefold()
)


@settings(max_examples=200, deadline=None)
@given(
    values=values,
    noise=st.text(alphabet="<>&;lgtu03ce\\_- EMAIL12x", max_size=30),
    spellings=st.lists(st.sampled_from([*RESPELLINGS, *NOT_RESPELLINGS]), max_size=4),
    data=st.data(),
)
def test_stream_restore_equals_restore_for_any_split(
    values: list[str], noise: str, spellings: list[str], data: st.DataObject
) -> None:
    p, pseudo = _pseudonymizer_with(values)
    respelled = noise.join(s.replace("NATIONAL_ID_FR", "EMAIL") for s in spellings)
    answer = noise + pseudo + noise + "<email_1" + "&lt; EMAIL_1 &gt;" + respelled + noise
    cuts = sorted(data.draw(st.lists(st.integers(0, len(answer)), max_size=12)))
    chunks = [answer[a:b] for a, b in zip([0, *cuts], [*cuts, len(answer)], strict=True)]
    note(f"values={values!r} chunks={chunks!r}")
    r = StreamRestorer(p)
    streamed = "".join(r.feed(c) for c in chunks) + r.flush()
    assert streamed == p.restore(answer)
    assert p.restore(pseudo) == " ".join(values) or len(set(values)) != len(values)


def test_stream_holds_back_only_a_possible_placeholder() -> None:
    p, _ = _pseudonymizer_with(["a@b.fr"])
    r = StreamRestorer(p)
    assert r.feed("Hello <EM") == "Hello "
    assert r.feed("AIL_1> and 3 < 4") == "a@b.fr and 3 < 4"
    assert r.feed(" x <") == " x "
    assert r.feed("b>") == "<b>"
    assert r.feed(" bare EMAIL_1") == " bare "  # could still be EMAIL_10
    assert r.feed("0 or Em") == "EMAIL_10 or "  # not generated: as written
    assert r.feed("ail_1.") == "a@b.fr."
    assert r.feed(" Emil") == " Emil"  # not a prefix of a generated name
    assert r.feed(" < email 1") == " "
    assert r.flush() == "< email 1"  # never closed: as written
    # a bare name glued to what was already sent is not a placeholder (found by the property)
    r = StreamRestorer(p)
    assert r.feed("<EMAIL_1> MY_E") + r.feed("MAIL_1") + r.flush() == "a@b.fr MY_EMAIL_1"


def test_stream_passthrough_without_mapping() -> None:
    r = Pseudonymizer().stream_restorer()
    assert r.feed("<EMAIL_") == "<EMAIL_"


def test_chat_request_all_roles_and_tool_json_stay_valid() -> None:
    args = json.dumps({"to": "claire.dubois@example.fr", "iban": "FR7630006000011234567890189"})
    messages = [
        {"role": "system", "content": "Contact: bob@example.org"},
        {"role": "user", "content": [{"type": "text", "text": "Mail claire.dubois@example.fr"},
                                     {"type": "image_url", "image_url": {"url": "http://x/a@b.fr"}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "send", "arguments": args}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sent to claire.dubois@example.fr"},
    ]  # fmt: skip
    before = json.dumps(messages)
    result = pseudonymize_messages(messages, SCANNER)
    assert json.dumps(messages) == before  # input untouched
    new = result.messages
    assert new[0]["content"] == "Contact: <EMAIL_1>"
    assert new[1]["content"][0]["text"] == "Mail <EMAIL_2>"
    # a URL is text: scanned like the rest
    assert new[1]["content"][1] == {"type": "image_url", "image_url": {"url": "http://x/<EMAIL_3>"}}
    parsed = json.loads(new[2]["tool_calls"][0]["function"]["arguments"])
    assert parsed == {"to": "<EMAIL_2>", "iban": "<IBAN_1>"}
    assert new[3]["content"] == "sent to <EMAIL_2>"
    assert {f.type for f in result.findings} == {"email", "iban"}
    # an answer's tool call echoing placeholders restores to valid JSON
    answer_args = json.dumps({"to": "<EMAIL_2>", "note": 'say "<EMAIL_1>"'})
    restored = json.loads(result.pseudonymizer.restore_json(answer_args))
    assert restored == {"to": "claire.dubois@example.fr", "note": 'say "bob@example.org"'}


def test_categories_filter_and_prompt() -> None:
    text = "AKIAIOSFODNN7EXAMPLE for a@b.fr"
    only_secrets = pseudonymize_prompt(text, SCANNER, categories=["secret"])
    assert only_secrets.messages == "<SECRET_1> for a@b.fr"
    many = pseudonymize_prompt([text, "a@b.fr"], SCANNER)
    assert many.messages == ["<SECRET_1> for <EMAIL_1>", "<EMAIL_1>"]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_pseudonymize_then_restore_is_identity_up_to_spelling(text: str) -> None:
    p = Pseudonymizer()
    found = SCANNER.scan(text)
    out = p.pseudonymize(text, found)
    if not found:
        assert out == text
    restored = p.restore(out)
    assert len(p) <= len(found)
    if len(p) == len(found):  # every value distinct: exact round trip
        assert restored == text or "<" in text or "&" in text


def test_an_empty_pseudonymizer_is_still_truthy() -> None:
    """`if pz` / `pz or Pseudonymizer()` must never drop a pseudonymizer that has no value yet."""
    from souverain.policy.pseudonymize import Pseudonymizer

    p = Pseudonymizer()
    assert len(p) == 0 and bool(p)
