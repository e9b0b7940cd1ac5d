"""The official openai client talking to the in-process ASGI app (no socket, no lifespan)."""

from __future__ import annotations

from typing import Any

import httpx
import openai


def openai_client(app: Any, key: str = "unused") -> openai.AsyncOpenAI:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw/v1")
    return openai.AsyncOpenAI(base_url="http://gw/v1", api_key=key, http_client=http, max_retries=0)
