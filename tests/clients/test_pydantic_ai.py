"""pydantic-ai with an OpenAI provider against a zero-config ``souverain serve`` (the embedded
model): a text answer, and a structured output (pydantic-ai asks for it as a required tool call,
which the embedded model's grammar makes valid)."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from tests.clients.conftest import MAX_TOKENS

pytestmark = pytest.mark.slow


class Capital(BaseModel):
    city: Literal["Paris", "Berlin", "Rome"]


def _model(gateway: str) -> OpenAIChatModel:
    return OpenAIChatModel("default", provider=OpenAIProvider(base_url=gateway, api_key="unused"))


def test_text_answer(gateway: str) -> None:
    result = Agent(_model(gateway)).run_sync(
        "What is the capital of France?", model_settings={"max_tokens": MAX_TOKENS}
    )
    assert result.output
    assert 0 < result.usage.output_tokens <= MAX_TOKENS
    assert result.all_messages()[-1].model_name == "gemma-3-270m"


def test_structured_output(gateway: str) -> None:
    agent = Agent(_model(gateway), output_type=Capital)
    result = agent.run_sync("What is the capital of France?", model_settings={"max_tokens": 40})
    assert isinstance(result.output, Capital)
