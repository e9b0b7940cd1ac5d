"""llama-index's ``OpenAILike`` against a zero-config ``souverain serve`` (the embedded model):
``chat``, ``complete`` and ``stream_chat``."""

from __future__ import annotations

import pytest
from llama_index.core.llms import ChatMessage
from llama_index.llms.openai_like import OpenAILike

from tests.clients.conftest import MAX_TOKENS

pytestmark = pytest.mark.slow

ASK = [ChatMessage(role="user", content="What is the capital of France?")]


def _llm(gateway: str) -> OpenAILike:
    return OpenAILike(
        model="default",
        api_base=gateway,
        api_key="unused",
        is_chat_model=True,
        context_window=32768,
        max_tokens=MAX_TOKENS,
        temperature=0,
        max_retries=0,
    )


def test_chat_complete_and_stream(gateway: str) -> None:
    llm = _llm(gateway)
    said = llm.chat(ASK)
    assert said.message.content and said.raw is not None
    assert said.raw.model == "gemma-3-270m"
    assert said.raw.usage is not None and 0 < said.raw.usage.completion_tokens <= MAX_TOKENS

    assert llm.complete("What is the capital of France?").text  # is_chat_model: sent as a chat

    deltas = [r.delta or "" for r in llm.stream_chat(ASK)]
    assert len(deltas) > 2 and "".join(deltas).strip()
