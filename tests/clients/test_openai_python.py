"""openai-python against a zero-config ``souverain serve``: what the other end-to-end tests do
not already drive — the async client (plain and streamed with usage) and
``chat.completions.parse`` with a Pydantic model (grammar-constrained JSON on the embedded
model). Sync chat, streaming, embeddings: tests/e2e/test_serve_embedded.py; tools:
tests/e2e/test_llamacpp_tools.py; responses: tests/e2e/test_responses_embedded.py."""

from __future__ import annotations

from typing import Literal

import openai
import pytest
from pydantic import BaseModel

from tests.clients.conftest import MAX_TOKENS

pytestmark = pytest.mark.slow

ASK = [{"role": "user", "content": "What is the capital of France?"}]


class Capital(BaseModel):
    city: Literal["Paris", "Berlin", "Rome"]
    sure: bool


async def test_async_client_plain_and_streamed(gateway: str) -> None:
    async with openai.AsyncOpenAI(base_url=gateway, api_key="unused", max_retries=0) as client:
        resp = await client.chat.completions.create(
            model="default", messages=ASK, max_tokens=MAX_TOKENS, temperature=0
        )
        assert resp.model == "gemma-3-270m" and resp.choices[0].message.content
        assert resp.usage is not None and 0 < resp.usage.completion_tokens <= MAX_TOKENS

        stream = await client.chat.completions.create(
            model="default",
            messages=ASK,
            max_tokens=MAX_TOKENS,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [c async for c in stream]
    # (not compared with the plain answer: a prompt evaluated from the prefix cache may round
    # differently and change a greedy token)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip()
    assert all(c.usage is None for c in chunks[:-1]) and chunks[-1].usage is not None
    assert 0 < chunks[-1].usage.completion_tokens <= MAX_TOKENS


def test_parse_with_a_pydantic_model(gateway: str) -> None:
    client = openai.OpenAI(base_url=gateway, api_key="unused", max_retries=0)
    resp = client.chat.completions.parse(
        model="default", messages=ASK, response_format=Capital, max_tokens=30, temperature=0
    )
    choice = resp.choices[0]
    assert choice.finish_reason == "stop"  # the grammar closes the object well before 30
    assert isinstance(choice.message.parsed, Capital)
    assert Capital.model_validate_json(choice.message.content or "") == choice.message.parsed
