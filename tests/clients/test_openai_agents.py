"""The openai-agents SDK against ``souverain serve``: an agent answering on the embedded model,
through the Responses API (the SDK's default model) and through chat completions, and an agent
that calls a function tool and answers from its result — the decision to call a tool is what a
270M base model cannot be relied on for, so that one runs before the mock upstream.

Tracing is disabled: its exporter would otherwise send the traces to api.openai.com."""

from __future__ import annotations

import json
from typing import Any

import agents
import openai
import pytest
from agents import (
    Agent,
    ModelSettings,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    function_tool,
)

from tests.clients.conftest import MAX_TOKENS
from tests.support.upstream import Upstream

pytestmark = pytest.mark.slow

agents.set_tracing_disabled(True)


@pytest.fixture(autouse=True)
def _no_tracing_export(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_AGENTS_DISABLE_TRACING", "1")


def _client(base: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base, api_key="unused", max_retries=0)


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
def test_agent_answers_on_the_embedded_model(gateway: str, api: str) -> None:
    model: Any = (OpenAIResponsesModel if api == "responses" else OpenAIChatCompletionsModel)(
        model="default", openai_client=_client(gateway)
    )
    agent = Agent(
        name="assistant",
        instructions="Answer briefly.",
        model=model,
        model_settings=ModelSettings(max_tokens=MAX_TOKENS, temperature=0),
    )
    result = Runner.run_sync(agent, "What is the capital of France?")
    assert isinstance(result.final_output, str) and result.final_output
    (response,) = result.raw_responses
    assert 0 < response.usage.output_tokens <= MAX_TOKENS


def test_agent_calls_a_tool_and_answers(upstream_gateway: tuple[str, Upstream]) -> None:
    base, up = upstream_gateway
    called: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """The weather of a city."""
        called.append(city)
        return "sunny"

    up.tool_calls = [{"name": "get_weather", "arguments": '{"city": "Paris"}'}]
    agent = Agent(
        name="weather",
        model=OpenAIResponsesModel(model="chat", openai_client=_client(base)),
        tools=[get_weather],
    )
    before = len(up.captured)
    result = Runner.run_sync(agent, "Weather in Paris?")
    assert called == ["Paris"]
    assert result.final_output == "You said: Weather in Paris?"  # the upstream's echo
    first, second = (json.loads(b) for b in up.captured[before:])
    assert first["tools"][0]["function"]["name"] == "get_weather"
    call, answer = second["messages"][-2:]
    assert call["tool_calls"][0]["id"] == "call_up0"
    assert answer == {"role": "tool", "tool_call_id": "call_up0", "content": "sunny"}
