"""In-process console fixtures: the real app over a real SQLite ledger (backends unreachable
on purpose: the console must work, and say so, when they are down)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from souverain.api.app import create_app
from souverain.config import parse_config
from tests.console.helpers import config_dict


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Any]:
    app = create_app(parse_config(config_dict(tmp_path)))
    await app.state.runtime.start(wait=False)
    try:
        yield app
    finally:
        await app.state.runtime.close()


@pytest.fixture
async def client(gateway: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway), base_url="http://gw"
    ) as c:
        yield c
