"""The sovereignty contract (examples/policies.yaml) as written, against real backends on loopback:
the embedded model as `on-prem-small`, and capturing OpenAI-compatible servers standing in for
Mistral and the US API. No planted value may reach a non-self-hosted backend."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml

from souverain.api.app import create_app
from souverain.config import parse_config
from tests.support.upstream import Upstream, free_port

pytestmark = pytest.mark.slow
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "policies.yaml"

EMAIL = "claire.dubois@example.fr"
IBAN = "FR76 3000 6000 0112 3456 7890 189"
NIR = "2 84 05 75 056 143 67"  # valid NIR (checked below with python-stdnum)
CARD = "4970 1012 3456 7893"
PLANTED = [EMAIL, IBAN, NIR, CARD]


def test_planted_identifiers_are_valid() -> None:
    from stdnum import iban, luhn
    from stdnum.fr import nir

    assert iban.is_valid(IBAN) and nir.is_valid(NIR) and luhn.is_valid(CARD.replace(" ", ""))


def forms(value: str) -> list[str]:
    compact = value.replace(" ", "")
    return [value, compact, compact.lower()]


def leaked(upstream: Upstream) -> list[str]:
    raw = upstream.all_bytes().decode("utf-8", "replace")
    text = json.loads(json.dumps(raw))
    return [v for v in PLANTED for f in forms(v) if f in text or f in raw.replace("\\u00", "")]


@pytest.fixture
async def gateway(
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[httpx.AsyncClient, Upstream, Upstream, object]]:
    monkeypatch.setenv("MISTRAL_API_KEY", "test-mistral-key")
    monkeypatch.setenv("US_API_KEY", "test-us-key")
    data = yaml.safe_load(EXAMPLE.read_text())
    with Upstream() as mistral, Upstream() as us:
        for b in data["backends"]:
            if b["name"] == "mistral-api":
                b["base_url"] = mistral.base_url
            if b["name"] == "us-api":
                b["base_url"] = us.base_url
        app = create_app(parse_config(data, str(EXAMPLE)))
        runtime = app.state.runtime
        await runtime.start()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw", timeout=120
        ) as c:
            yield c, mistral, us, runtime
        await runtime.close()


def chat(model: str, content: str, **kw) -> dict:
    return {
        "model": model,
        "messages": [{"role": "user", "content": content}],
        "max_tokens": 8,
        "temperature": 0,
        **kw,
    }


PII_TEXT = f"Client: Mme Claire Dubois, email {EMAIL}, IBAN {IBAN}, NIR {NIR}, carte {CARD}."


async def test_research_pseudonymises_before_egress_and_restores(gateway) -> None:
    c, mistral, _us, _ = gateway
    r = await c.post("/v1/chat/completions", json=chat("research", PII_TEXT))
    assert r.status_code == 200, r.text
    assert r.headers["x-souverain-backend"] == "mistral-api"
    assert r.headers["x-souverain-decision"] == "pseudonymized"
    assert mistral.captured and not leaked(mistral)
    answer = r.json()["choices"][0]["message"]["content"]
    for value in (EMAIL, IBAN, NIR, CARD):
        assert value in answer, "the placeholder was not restored in the answer"


async def test_research_stream_restores_placeholders_split_across_chunks(gateway) -> None:
    c, mistral, _, _ = gateway
    r = await c.post("/v1/chat/completions", json=chat("research", PII_TEXT, stream=True))
    assert r.status_code == 200 and r.headers["x-souverain-decision"] == "pseudonymized"
    text = "".join(
        json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
        for line in r.text.splitlines()
        if line.startswith("data: {") and '"choices":[{' in line
    )
    assert not leaked(mistral)
    for value in (EMAIL, IBAN, NIR, CARD):
        assert value in text


async def test_every_role_and_tool_call_arguments_are_covered(gateway) -> None:
    c, mistral, _, _ = gateway
    body = {
        "model": "research",
        "max_tokens": 8,
        "messages": [
            {"role": "system", "content": f"The analyst's email is {EMAIL}."},
            {"role": "user", "content": [{"type": "text", "text": f"Check IBAN {IBAN}"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": json.dumps({"nir": NIR})},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": f"card on file {CARD}"},
            {"role": "user", "content": "Summarise."},
        ],
    }
    r = await c.post("/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
    assert not leaked(mistral)
    sent = json.loads(mistral.captured[-1])
    args = sent["messages"][2]["tool_calls"][0]["function"]["arguments"]
    assert "nir" in json.loads(args)  # still valid JSON after pseudonymisation


async def test_confidential_marker_keeps_it_local(gateway) -> None:
    c, mistral, us, _ = gateway
    r = await c.post("/v1/chat/completions", json=chat("research", "Status of Project Aurora?"))
    assert r.status_code == 200
    assert r.headers["x-souverain-backend"] == "on-prem-small"
    assert not mistral.captured and not us.captured


async def test_secret_is_blocked_without_showing_it(gateway) -> None:
    c, mistral, _, _ = gateway
    secret = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0"
    r = await c.post("/v1/chat/completions", json=chat("research", f"my key is {secret}"))
    assert r.status_code == 403
    err = r.json()["error"]
    assert (
        err["code"] == "sensitive_data_blocked"
        and "secret" in err["message"]
        and secret not in r.text
    )
    assert r.headers["x-souverain-decision"] == "refused"
    assert not mistral.captured


async def test_kyc_stays_on_premises(gateway) -> None:
    c, mistral, us, _ = gateway
    r = await c.post("/v1/chat/completions", json=chat("kyc", PII_TEXT))
    assert r.status_code == 200 and r.headers["x-souverain-backend"] == "on-prem-small"
    assert r.headers["x-souverain-decision"] == "served"
    assert not mistral.captured and not us.captured


async def test_kyc_refused_when_only_compliant_backend_is_down(gateway) -> None:
    c, mistral, us, runtime = gateway
    local = runtime.backends["on-prem-small"]
    local.is_healthy = lambda: False  # type: ignore[method-assign]
    r = await c.post("/v1/chat/completions", json=chat("kyc", PII_TEXT))
    assert r.status_code == 503
    err = r.json()["error"]
    assert err["code"] == "no_compliant_backend" and "on-prem-small" in err["message"]
    assert not mistral.captured and not us.captured


async def test_fallback_to_us_api_only_pseudonymised_when_mistral_down(gateway) -> None:
    c, _mistral, us, runtime = gateway
    runtime.backends["mistral-api"]._base = f"http://127.0.0.1:{free_port()}/v1"
    await runtime.backends["mistral-api"].close()
    await runtime.backends["mistral-api"].start()
    r = await c.post("/v1/chat/completions", json=chat("research", PII_TEXT))
    assert r.status_code == 200
    assert (
        r.headers["x-souverain-backend"] == "us-api"
        and r.headers["x-souverain-decision"] == "pseudonymized"
    )
    assert us.captured and not leaked(us)
