"""The llamacpp backend under load: a full queue answers 429 with Retry-After (not a hang), and a
client that goes away mid-stream stops the generation (the model is free again at once)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from souverain.api.app import create_app
from souverain.config import parse_config
from tests.support.configs import embedded

pytestmark = pytest.mark.slow


def config(max_queue: int):
    return parse_config(
        {
            "backends": [embedded("local", max_queue=max_queue, retry_after_s=3)],
            "use_cases": [{"name": "default", "backends": ["local"]}],
            "ledger": {"enabled": False},
        }
    )


LONG = {"model": "default", "prompt": "Once upon a time", "max_tokens": 150, "temperature": 0.8}


async def test_full_queue_is_429_with_retry_after() -> None:
    app = create_app(config(max_queue=1))
    runtime = app.state.runtime
    await runtime.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw", timeout=120
        ) as c:
            running = asyncio.create_task(c.post("/v1/completions", json=LONG))
            await asyncio.sleep(0.3)
            waiting = asyncio.create_task(c.post("/v1/completions", json={**LONG, "max_tokens": 2}))
            await asyncio.sleep(0.3)
            t = time.perf_counter()
            refused = await c.post("/v1/completions", json=LONG)
            assert time.perf_counter() - t < 1.0, "a full queue must answer at once"
            assert refused.status_code == 429
            assert refused.headers["retry-after"] == "3"
            assert refused.json()["error"]["code"] == "backend_overloaded"
            assert (await running).status_code == 200 and (await waiting).status_code == 200
    finally:
        await runtime.close()


async def test_client_disconnect_stops_generation() -> None:
    app = create_app(config(max_queue=4))
    runtime = app.state.runtime
    await runtime.start()
    backend = runtime.backends["local"]
    try:
        from souverain.backends.base import GenerationRequest
        from souverain.gateway.call import CallContext

        ctx = CallContext("cmpl-disconnect", runtime.config.use_case("default"), stream=True)
        answer = await runtime.pipeline.open(
            ctx,
            GenerationRequest(
                kind="completion",
                prompt="Once upon a time",
                max_tokens=3000,
                temperature=0.8,
                request_id=ctx.request_id,
            ),
        )
        events = answer.events()
        for _ in range(3):
            await anext(events)
        t = time.perf_counter()
        await events.aclose()  # what Starlette does when the client goes away
        # the single generation thread must be free almost at once, not after 3000 tokens
        await asyncio.wait_for(
            asyncio.get_running_loop().run_in_executor(backend._executor, lambda: None), 5
        )
        assert time.perf_counter() - t < 5
        assert backend._inflight == 0
        usage = backend.last_resource_usage(ctx.request_id)
        assert usage is not None and usage.busy_seconds < 20
    finally:
        await runtime.close()
