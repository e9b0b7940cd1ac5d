"""langchain-openai on chat completions against a zero-config ``souverain serve`` (the embedded
model): ``invoke``, ``stream``, ``bind_tools`` (a named tool: the grammar guarantees the call),
``with_structured_output`` (a JSON schema) and ``OpenAIEmbeddings``. The same on the Responses
API: tests/api/test_responses_langchain.py; the README's LangChain example:
tests/e2e/test_readme.py."""

from __future__ import annotations

from typing import Literal

import pytest
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from pydantic import BaseModel

from tests.clients.conftest import MAX_TOKENS

pytestmark = pytest.mark.slow


@tool
def clock(tz: Literal["UTC", "CET"]) -> str:
    """The time in a time zone."""
    return "14:05"


class Capital(BaseModel):
    city: Literal["Paris", "Berlin", "Rome"]


def _chat(gateway: str, max_tokens: int = MAX_TOKENS) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=gateway,
        api_key="unused",
        model="default",
        max_tokens=max_tokens,
        temperature=0,
        max_retries=0,
    )


def test_invoke_and_stream(gateway: str) -> None:
    llm = _chat(gateway)
    msg = llm.invoke("What is the capital of France?")
    assert msg.text and msg.response_metadata["model_name"] == "gemma-3-270m"
    assert msg.usage_metadata is not None
    assert 0 < msg.usage_metadata["output_tokens"] <= MAX_TOKENS

    chunks = list(llm.stream("What is the capital of France?"))
    assert len(chunks) > 2 and "".join(c.text for c in chunks).strip()


def test_bind_tools_with_a_named_tool(gateway: str) -> None:
    msg = _chat(gateway, 30).bind_tools([clock], tool_choice="clock").invoke("Time in Paris?")
    (call,) = msg.tool_calls
    assert call["name"] == "clock" and call["args"]["tz"] in ("UTC", "CET")
    assert call["id"] and call["id"].startswith("call_")
    assert clock.invoke(call["args"]) == "14:05"  # the arguments are the tool's own


def test_with_structured_output(gateway: str) -> None:
    city = _chat(gateway, 30).with_structured_output(Capital).invoke("The capital of France?")
    assert isinstance(city, Capital)


def test_openai_embeddings(gateway: str) -> None:
    # check_embedding_ctx_length=False: otherwise the client counts tokens with tiktoken,
    # which downloads its encoding (the socket guard would fail the test)
    emb = OpenAIEmbeddings(
        base_url=gateway, api_key="unused", model="embed", check_embedding_ctx_length=False
    )
    docs = emb.embed_documents(["Paris is in France.", "Berlin is in Germany."])
    query = emb.embed_query("Paris is in France.")
    assert [len(v) for v in docs] == [384, 384]
    assert query == pytest.approx(docs[0], abs=1e-5)
