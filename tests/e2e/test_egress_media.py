"""Content that cannot be scanned (issue #11, item 2): images, audio, files and data URLs are
possibly personal; the policy's `media` action decides, by default that of `personal_data`
(`pseudonymize` counts as `keep-local`). Real gateway, official `openai` client, capturing
upstream (not self-hosted)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.support.egress import egress_gateway, ledger_row

POLICIES = {
    "pd-block": {"personal_data": "block"},
    "pd-pseudo": {"personal_data": "pseudonymize"},
    "pd-allow": {"personal_data": "allow"},
    "media-block": {"personal_data": "allow", "media": "block"},
    "media-allow": {"personal_data": "block", "media": "allow"},
}
PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
MEDIA: dict[str, list[dict[str, Any]]] = {
    "image_url (https)": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "https://img.example/cat.png"}},
    ],
    "image_url (data URL)": [{"type": "image_url", "image_url": {"url": PNG}}],
    "input_audio": [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}],
    "file": [{"type": "file", "file": {"file_data": PNG, "filename": "scan.png"}}],
    "data URL in text": [{"type": "text", "text": PNG}],
}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[openai.OpenAI, Any, Any]]:
    with egress_gateway(tmp_path_factory.mktemp("media"), policies=POLICIES) as (b, up, rt):
        yield openai.OpenAI(base_url=b, api_key="x", max_retries=0), up, rt


def send(client: openai.OpenAI, use_case: str, media: str) -> Any:
    return client.chat.completions.with_raw_response.create(
        model=use_case,
        max_tokens=4,
        messages=[{"role": "user", "content": MEDIA[media]}],  # type: ignore[misc]
    )


@pytest.mark.parametrize("media", list(MEDIA))
@pytest.mark.parametrize("use_case", ["pd-block", "media-block"])
def test_blocked(use_case: str, media: str, gateway: tuple[openai.OpenAI, Any, Any]) -> None:
    client, up, runtime = gateway
    before = len(up.captured)
    with pytest.raises(openai.PermissionDeniedError) as info:
        send(client, use_case, media)
    err = info.value.body
    assert isinstance(err, dict) and err["code"] == "sensitive_data_blocked"
    assert "media" in err["message"] and "cannot be scanned" in err["message"]
    assert len(up.captured) == before
    row = ledger_row(runtime, info.value.response.headers["x-request-id"])
    assert row["data_types"].get("media") == 1


@pytest.mark.parametrize("media", list(MEDIA))
@pytest.mark.parametrize("use_case", ["pd-pseudo"])
def test_kept_local(use_case: str, media: str, gateway: tuple[openai.OpenAI, Any, Any]) -> None:
    client, up, _ = gateway
    before = len(up.captured)
    with pytest.raises(openai.APIStatusError) as info:
        send(client, use_case, media)
    assert info.value.status_code == 503
    err = info.value.body
    assert isinstance(err, dict) and err["code"] == "no_compliant_backend"
    assert "media found" in err["message"] and "media: keep-local" in err["message"]
    assert len(up.captured) == before


@pytest.mark.parametrize("use_case", ["pd-allow", "media-allow"])
def test_allowed(use_case: str, gateway: tuple[openai.OpenAI, Any, Any]) -> None:
    client, up, runtime = gateway
    before = len(up.captured)
    raw = send(client, use_case, "image_url (data URL)")
    assert raw.headers["x-souverain-decision"] == "served"
    assert PNG.encode() in up.captured[before]
    assert ledger_row(runtime, raw.headers["x-request-id"])["data_types"] == {"media": 1}


def test_plain_text_is_not_media(gateway: tuple[openai.OpenAI, Any, Any]) -> None:
    client, _, runtime = gateway
    raw = client.chat.completions.with_raw_response.create(
        model="pd-block", max_tokens=4, messages=[{"role": "user", "content": "hello there"}]
    )
    assert raw.headers["x-souverain-decision"] == "served"
    assert ledger_row(runtime, raw.headers["x-request-id"])["data_types"] == {}
