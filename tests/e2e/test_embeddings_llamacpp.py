"""Embeddings from llama.cpp GGUF models: the shipped Gemma GGUF loaded in-process with
``embedding: true``, and llama-cpp-python's own ``llama_cpp.server --embedding`` as a real
third-party upstream, both through the official openai client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest

from souverain.api.app import create_app
from souverain.config import parse_config
from tests.support.configs import embedded, openai_upstream
from tests.support.llama_server import llama_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def embedding_server(embedded_model_path: Path) -> Iterator[str]:
    with llama_server(
        embedded_model_path, "--n_ctx", "512", "--embedding", "true", "--model_alias", "gemma-embed"
    ) as base:
        yield base


@pytest.fixture
async def client(embedding_server: str) -> AsyncIterator[openai.AsyncOpenAI]:
    caps = {"embeddings": True, "generation": False}
    config = parse_config(
        {
            "site": {"country": "FR"},
            "backends": [
                embedded("gemma-embed", embedding=True, n_ctx=512),
                openai_upstream(
                    "llama-server", embedding_server, model="gemma-embed", capabilities=caps
                ),
            ],
            "use_cases": [
                {"name": "local", "backends": ["gemma-embed"]},
                {"name": "remote", "backends": ["llama-server"]},
            ],
        }
    )
    app = create_app(config)
    await app.state.runtime.start()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
    try:
        yield openai.AsyncOpenAI(
            base_url="http://gw/v1", api_key="none", http_client=http, max_retries=0
        )
    finally:
        await http.aclose()
        await app.state.runtime.close()


async def test_gguf_embedding_model_in_process(client: openai.AsyncOpenAI) -> None:
    texts = ["The cat sits on the mat.", "A cat is sitting on a mat.", "Interest rates rose."]
    out = await client.embeddings.create(model="local", input=texts, encoding_format="float")
    vecs = np.array([d.embedding for d in out.data])
    assert vecs.shape == (3, 640) and np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-4)
    assert out.usage.prompt_tokens > 12 and out.model == "gemma-embed"
    sims = vecs @ vecs.T
    assert sims[0, 1] > sims[0, 2]
    alone = await client.embeddings.create(model="local", input=texts[0], encoding_format="float")
    assert np.allclose(alone.data[0].embedding, vecs[0], atol=1e-3)

    for body, param, code in [
        ({"input": "x", "dimensions": 100}, "dimensions", "unsupported_parameter"),
        ({"input": [10**9]}, "input", "invalid_value"),
        ({"input": "word " * 600}, "input", "context_length_exceeded"),
    ]:
        with pytest.raises(openai.BadRequestError) as info:
            await client.post(
                "/embeddings", body={"model": "local", **body}, cast_to=httpx.Response
            )
        err: Any = info.value.body
        assert (err["param"], err["code"]) == (param, code), err


async def test_llama_cpp_server_without_pooling_is_a_clear_502(
    client: openai.AsyncOpenAI,
) -> None:
    """llama_cpp.server on a GGUF without a pooling type answers one vector per token: that is
    not OpenAI's shape, and souverain says so instead of inventing a pooling."""
    with pytest.raises(openai.APIStatusError) as info:
        await client.embeddings.create(model="remote", input=["hello world"])
    assert info.value.status_code == 502
    assert "one vector per token" in info.value.message
