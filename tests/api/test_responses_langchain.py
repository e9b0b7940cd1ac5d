"""langchain-openai's ``ChatOpenAI(use_responses_api=True)`` on POST /v1/responses: ``invoke``,
``stream``, ``bind_tools`` and ``with_structured_output``, against a real gateway on loopback
before the capturing upstream (which answers the tool call and the JSON)."""

from __future__ import annotations

import json
from pathlib import Path

from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from tests.support.egress import egress_gateway, ledger_row


@tool
def get_weather(city: str) -> str:
    """The weather of a city."""
    return "sunny"


class City(BaseModel):
    name: str
    population: int


def test_chat_openai_on_the_responses_api(tmp_path: Path) -> None:
    policies = {"chat": {"personal_data": "allow"}}
    with egress_gateway(tmp_path, policies=policies) as (base, up, runtime):
        llm = ChatOpenAI(
            base_url=base, api_key="unused", model="chat", use_responses_api=True, max_retries=0
        )
        msg = llm.invoke("hello there")
        assert msg.text == "You said: hello there"
        assert msg.usage_metadata is not None and msg.usage_metadata["input_tokens"] == 11
        assert ledger_row(runtime, msg.response_metadata["id"])["operation"] == "responses"

        chunks = list(llm.stream("one two"))
        assert "".join(c.text for c in chunks) == "You said: one two"

        up.tool_calls = [{"name": "get_weather", "arguments": '{"city": "Paris"}'}]
        call = llm.bind_tools([get_weather]).invoke("Weather in Paris?")
        assert call.tool_calls == [
            {
                "name": "get_weather",
                "args": {"city": "Paris"},
                "id": "call_up0",
                "type": "tool_call",
            }
        ]
        assert json.loads(up.captured[-1])["tools"][0]["function"]["name"] == "get_weather"

        up.tool_calls, up.reply = None, '{"name": "Lyon", "population": 522000}'
        city = llm.with_structured_output(City).invoke("A French city?")
        assert city == City(name="Lyon", population=522000)
        sent = json.loads(up.captured[-1])["response_format"]
        assert sent["type"] == "json_schema" and sent["json_schema"]["name"] == "City"
