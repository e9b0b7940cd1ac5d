"""litellm's SDK as a client of a zero-config ``souverain serve`` (the embedded model), through
its ``openai/`` provider: ``completion`` plain and streamed, and ``embedding``.

litellm fetches a price map from GitHub at import unless LITELLM_LOCAL_MODEL_COST_MAP is set:
it is imported inside the socket guard, which fails the test if it does."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from tests.clients.conftest import MAX_TOKENS

pytestmark = pytest.mark.slow

ASK = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture
def litellm(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    return importlib.import_module("litellm")


def test_completion_plain_and_streamed(litellm: ModuleType, gateway: str) -> None:
    common = {"model": "openai/default", "api_base": gateway, "api_key": "unused"}
    resp = litellm.completion(messages=ASK, max_tokens=MAX_TOKENS, temperature=0, **common)
    assert resp.model == "gemma-3-270m" and resp.choices[0].message.content
    assert 0 < resp.usage.completion_tokens <= MAX_TOKENS

    stream = litellm.completion(
        messages=ASK, max_tokens=MAX_TOKENS, temperature=0, stream=True, **common
    )
    chunks = list(stream)
    assert len(chunks) > 2 and "".join(c.choices[0].delta.content or "" for c in chunks).strip()


def test_embedding(litellm: ModuleType, gateway: str) -> None:
    out = litellm.embedding(
        model="openai/embed", api_base=gateway, api_key="unused", input=["Paris", "Berlin"]
    )
    assert [len(d["embedding"]) for d in out.data] == [384, 384]
    assert out.usage.prompt_tokens > 0
