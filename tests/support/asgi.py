"""The official openai client talking to the in-process ASGI app (no socket, no lifespan)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import openai

from souverain.api.app import create_app


def openai_client(app: Any, key: str = "unused") -> openai.AsyncOpenAI:
    # the http client at the app's root: openai sends absolute URLs, a test its own paths
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
    return openai.AsyncOpenAI(base_url="http://gw/v1", api_key=key, http_client=http, max_retries=0)


@asynccontextmanager
async def app_client(
    config: Any, key: str = "none"
) -> AsyncIterator[tuple[openai.AsyncOpenAI, Any]]:
    """The app of ``config`` with its runtime started, and an openai client on it; both closed
    at the end."""
    app = create_app(config)
    runtime = app.state.runtime
    await runtime.start()
    client = openai_client(app, key)
    try:
        yield client, runtime
    finally:
        await client.close()
        await runtime.close()
