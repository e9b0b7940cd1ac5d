"""A gateway for the Responses API tests: the real ASGI app with the official openai client in
front of a capturing loopback OpenAI-compatible upstream (``tests/support/upstream.py``), the
``chat`` (personal data allowed), ``block`` and ``pseudo`` use cases on it, ``small`` on the same
upstream declared text-only, without JSON mode and with a 64-token context, and a SQLite ledger."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import openai

from souverain.config import parse_config
from souverain.ledger import Ledger
from tests.support.asgi import app_client
from tests.support.configs import openai_upstream
from tests.support.upstream import Upstream


class Gateway:
    def __init__(self, client: openai.AsyncOpenAI, up: Upstream, runtime: Any, url: str):
        self.client, self.up, self.runtime, self.ledger_url = client, up, runtime, url

    def sent(self, i: int = -1) -> dict[str, Any]:
        """The body the upstream received (the last one by default)."""
        return json.loads(self.up.captured[i])

    def rows(self) -> list[dict[str, Any]]:
        with Ledger.open(self.ledger_url) as ledger:
            assert ledger.verify().ok
            return [r for r in ledger.rows() if r["status"] != "pending"]


@asynccontextmanager
async def responses_gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    with Upstream() as up:
        config = parse_config(
            {
                "site": {"country": "FR"},
                "backends": [
                    openai_upstream("remote", up.base_url, self_hosted=False, operator="Remote"),
                    openai_upstream(
                        "small",
                        up.base_url,
                        capabilities={"media_input": [], "json_mode": False, "context_length": 64},
                    ),
                ],
                "use_cases": [
                    {"name": "chat", "backends": ["remote"], "policy": {"personal_data": "allow"}},
                    {"name": "block", "backends": ["remote"], "policy": {"personal_data": "block"}},
                    {"name": "small", "backends": ["small"]},
                    {
                        "name": "pseudo",
                        "backends": ["remote"],
                        "policy": {"personal_data": "pseudonymize"},
                    },
                ],
                "ledger": {"url": f"sqlite:///{tmp_path / 'ledger.db'}"},
            }
        )
        async with app_client(config) as (client, runtime):
            yield Gateway(client, up, runtime, config.ledger.url)


async def stream_events(gw: Gateway, **kwargs: Any) -> tuple[list[Any], Any]:
    """The typed events of a streamed response through the SDK's stream helper (which checks
    item identities and order), and its final response: the helper's, or, for an incomplete
    one (``response.incomplete``, as OpenAI sends it), the last event's (the helper's
    ``get_final_response`` waits for ``response.completed`` only)."""
    async with gw.client.responses.stream(**kwargs) as stream:
        events = [ev async for ev in stream]
        if events[-1].type == "response.incomplete":
            return events, events[-1].response
        final = await stream.get_final_response()
    return events, final


TOOLS: list[Any] = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    },
    {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}},
]
CALLS = [
    {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    {"name": "get_time", "arguments": "{}"},
]
