"""POST /v1/embeddings through the real ASGI app with the official openai client: the embedded
MiniLM ONNX model (real onnxruntime), a loopback OpenAI-compatible upstream for egress and faults,
the content policy (block, keep-local for pseudonymise), the ledger row and budgets."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest

from souverain.config import parse_config
from souverain.ledger import Ledger
from tests.support.asgi import app_client
from tests.support.configs import backend, openai_upstream
from tests.support.upstream import Upstream

EMAIL = "claire.dubois@example.fr"
TEXTS = ["The cat sits on the mat.", "A feline rests on a rug.", "Quarterly revenue grew by 5%."]


def config_dict(up: Upstream, tmp: Path) -> dict[str, Any]:
    cloud = {
        "self_hosted": False,
        "operator": "Cloud Inc",
        "open_weights": False,
        "capabilities": {"embeddings": True, "generation": False, "embedding_dimensions": 8},
    }
    return {
        "site": {"country": "FR"},
        "backends": [
            backend("minilm", type="onnx", model="embedded", eur_per_hour=1.0),
            openai_upstream("cloud", up.base_url, model="up-embed", **cloud),
            openai_upstream("chat-up", up.base_url),
        ],
        "use_cases": [
            {"name": "embed", "backends": ["minilm"]},
            {
                "name": "pseudo",
                "backends": ["cloud", "minilm"],
                "policy": {"personal_data": "pseudonymize"},
            },
            {
                "name": "pseudo-remote",
                "backends": ["cloud"],
                "policy": {"personal_data": "pseudonymize"},
            },
            {"name": "cloud-only", "backends": ["cloud"], "policy": {"personal_data": "allow"}},
            {"name": "strict", "backends": ["minilm"], "policy": {"personal_data": "block"}},
            {"name": "chat", "backends": ["chat-up"]},
            {"name": "tight", "backends": ["minilm"], "budget": {"eur_per_day": 1e-9}},
        ],
        "ledger": {"url": f"sqlite:///{tmp / 'ledger.db'}"},
    }


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[tuple[openai.AsyncOpenAI, Upstream, Any, str]]:
    with Upstream() as up:
        config = parse_config(config_dict(up, tmp_path))
        async with app_client(config) as (client, runtime):
            yield client, up, runtime, config.ledger.url


async def test_float_base64_and_tokens_through_the_openai_client(gw: Any) -> None:
    client, _, _, _ = gw
    one = await client.embeddings.create(model="embed", input=TEXTS[0])
    assert one.object == "list" and len(one.data) == 1 and one.model == "minilm"
    assert one.data[0].index == 0 and len(one.data[0].embedding) == 384
    assert one.usage.prompt_tokens == one.usage.total_tokens > 0

    many = await client.embeddings.create(model="embed", input=TEXTS, encoding_format="float")
    vecs = np.array([d.embedding for d in many.data])
    assert [d.index for d in many.data] == [0, 1, 2]
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    assert np.allclose(vecs[0], one.data[0].embedding, atol=1e-5)  # batched == alone
    sims = vecs @ vecs.T
    assert sims[0, 1] > 0.4 > sims[0, 2]  # the cat and the feline, not the revenue

    # base64: little-endian float32, what the openai client decodes itself when asked for floats
    raw = await client.embeddings.with_raw_response.create(
        model="embed", input=TEXTS, encoding_format="base64"
    )
    data = json.loads(raw.content)["data"]
    decoded = np.array([np.frombuffer(base64.b64decode(d["embedding"]), "<f4") for d in data])
    assert decoded.shape == (3, 384) and np.allclose(decoded, vecs, atol=1e-6)

    # token arrays (MiniLM's WordPiece ids): [CLS] and [SEP] are added, as for text
    ids = [1996, 4937, 7719, 2006, 1996, 13523, 1012]  # "the cat sits on the mat."
    toks = await client.embeddings.create(model="embed", input=[ids, ids[:3]])
    assert len(toks.data) == 2 and toks.usage.prompt_tokens == 9 + 5
    assert float(np.dot(toks.data[0].embedding, vecs[0])) > 0.99
    single = await client.embeddings.create(model="embed", input=ids)
    assert np.allclose(single.data[0].embedding, toks.data[0].embedding, atol=1e-5)

    same = await client.embeddings.create(model="embed", input="x", dimensions=384)
    assert len(same.data[0].embedding) == 384


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"input": ""}, "input", "invalid_value"),
        ({"input": []}, "input", "invalid_value"),
        ({"input": ["a", ""]}, "input", "invalid_value"),
        ({"input": ["a", 1]}, "input", "invalid_value"),
        ({"input": [[1, 2], "a"]}, "input", "invalid_value"),
        ({"input": [[]]}, "input", "invalid_value"),
        ({"input": [True, 2]}, "input", "invalid_value"),
        ({"input": [1.5]}, "input", "invalid_value"),
        ({"input": [-1]}, "input", "invalid_value"),
        ({"input": {"text": "a"}}, "input", "invalid_value"),
        ({"input": None}, "input", "invalid_value"),
        ({"input": ["a"] * 2049}, "input", "invalid_value"),
        ({}, "input", "missing_required_parameter"),
        ({"input": [30522]}, "input", "invalid_value"),  # outside MiniLM's vocabulary
        ({"input": [[5] * 300]}, "input", "context_length_exceeded"),
        ({"input": "a", "encoding_format": "int8"}, "encoding_format", "invalid_value"),
        ({"input": "a", "dimensions": 0}, "dimensions", "invalid_value"),
        ({"input": "a", "dimensions": 256}, "dimensions", "unsupported_parameter"),
        ({"input": "a", "dimensions": "384"}, "dimensions", "invalid_value"),
        ({"input": "a", "model": "nope"}, "model", "model_not_found"),
        ({"input": "a", "model": "chat"}, "model", "unsupported_parameter"),
    ],
)
async def test_bad_input_is_an_openai_shaped_400(
    gw: Any, body: dict[str, Any], param: str, code: str
) -> None:
    client, _, _, _ = gw
    with pytest.raises(openai.APIStatusError) as info:
        await client.post("/embeddings", body={"model": "embed", **body}, cast_to=httpx.Response)
    err = info.value.response.json()["error"]
    assert info.value.status_code == (404 if code == "model_not_found" else 400), err
    assert (err["param"], err["code"]) == (param, code), err
    assert set(err) == {"message", "type", "param", "code"} and err["message"]


async def test_chat_on_an_embedding_model_is_400(gw: Any) -> None:
    client, _, _, _ = gw
    with pytest.raises(openai.BadRequestError) as info:
        await client.chat.completions.create(
            model="embed", messages=[{"role": "user", "content": "hi"}], max_tokens=2
        )
    assert "embedding model" in info.value.message


async def test_policy_block_and_keep_local_instead_of_pseudonymise(gw: Any) -> None:
    client, up, _, url = gw
    with pytest.raises(openai.PermissionDeniedError) as info:
        await client.embeddings.create(model="strict", input=["fine", f"mail {EMAIL}"])
    assert info.value.body["code"] == "sensitive_data_blocked"

    clean = await client.embeddings.with_raw_response.create(model="pseudo", input=["hello"])
    assert clean.headers["x-souverain-backend"] == "cloud"
    assert len(clean.parse().data[0].embedding) == 8  # the upstream's vector, passed on
    # personal data with pseudonymize: a placeholder would change the vector, so it stays here
    pii = await client.embeddings.with_raw_response.create(
        model="pseudo", input=["hello", f"write to {EMAIL}"]
    )
    assert pii.headers["x-souverain-backend"] == "minilm"
    assert len(pii.parse().data[1].embedding) == 384
    assert EMAIL.encode() not in up.all_bytes() and b"EMAIL_" not in up.all_bytes()
    # with only a remote backend it is refused, saying why
    with pytest.raises(openai.APIStatusError) as refused:
        await client.embeddings.create(model="pseudo-remote", input=f"write to {EMAIL}")
    assert refused.value.status_code == 503
    assert "a placeholder would change the vector" in refused.value.message
    with pytest.raises(openai.BadRequestError) as dims:
        await client.embeddings.create(model="cloud-only", input="x", dimensions=4)
    assert dims.value.body["param"] == "dimensions" and "8-dimensional" in dims.value.message

    # token arrays cannot be scanned: they count as media (follows personal_data: keep-local)
    toks = await client.embeddings.with_raw_response.create(model="pseudo", input=[[101, 102]])
    assert toks.headers["x-souverain-backend"] == "minilm"

    with Ledger.open(url) as ledger:
        rows = list(ledger.rows())
        assert ledger.verify().ok
    by_decision = [(r["use_case"], r["backend"], r["status"], r["operation"]) for r in rows]
    assert ("strict", None, "refused", "embeddings") in by_decision
    assert ("pseudo", "cloud", "completed", "embeddings") in by_decision
    local = [r for r in rows if r["use_case"] == "pseudo" and r["backend"] == "minilm"]
    assert local[0]["data_types"] == {"email": 1} and local[0]["decision"] == "served"
    assert local[1]["data_types"] == {"media": 1}


async def test_ledger_row_metered_and_budget_applies(gw: Any) -> None:
    client, _, runtime, url = gw
    runtime.hooks.budgets.cache_s = 0
    out = await client.embeddings.create(model="embed", input=TEXTS)
    first = await client.embeddings.create(model="tight", input="spend it")
    assert first.data
    with pytest.raises(openai.RateLimitError) as info:
        await client.embeddings.create(model="tight", input="again")
    assert info.value.body["code"] == "budget_exceeded"
    with Ledger.open(url) as ledger:
        rows = [r for r in ledger.rows() if r["use_case"] == "embed"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["status"], row["decision"], row["backend"]) == ("completed", "served", "minilm")
    assert row["operation"] == "embeddings" and row["request_id"].startswith("embd-")
    assert row["prompt_tokens"] == out.usage.prompt_tokens and row["completion_tokens"] == 0
    assert row["energy_wh"] > 0 and row["cost_eur"] > 0 and row["duration_ms"] > 0


async def test_upstream_embeddings_and_its_faults(gw: Any) -> None:
    client, up, _, _ = gw
    out = await client.embeddings.create(model="cloud-only", input=["ab", "abcd"])
    assert [d.embedding[0] for d in out.data] == [2.0, 4.0] and out.usage.prompt_tokens == 14
    sent = json.loads(up.captured[-1])
    assert sent == {"model": "up-embed", "input": ["ab", "abcd"], "encoding_format": "float"}
    for mode, status, code in [
        ("status500", 502, "backend_bad_response"),
        ("status400", 400, "backend_rejected_request"),
        ("invalid_json", 502, "backend_bad_response"),
        ("short_answer", 502, "backend_bad_response"),
    ]:
        up.mode = mode
        with pytest.raises(openai.APIStatusError) as info:
            await client.embeddings.create(model="cloud-only", input=["a", "b"])
        assert (info.value.status_code, info.value.body["code"]) == (status, code), mode
    up.mode = "echo"
