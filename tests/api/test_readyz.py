"""/readyz serves cached probes: 40 hits make one round of outbound probes, not 40; stale results
are refreshed in the background; a backend's ``detail`` is for admin keys only. Through the real
ASGI app against a real loopback HTTP upstream that counts the probes it receives."""

from __future__ import annotations

import asyncio
import hashlib

import httpx

from souverain.api.app import create_app
from souverain.config import parse_config
from tests.support.configs import openai_upstream
from tests.support.upstream import Upstream

ADMIN, USER = "sk-sov-readyz-admin", "sk-sov-readyz-user"


def app_for(base_url: str):
    return create_app(
        parse_config(
            {
                "server": {"readyz_cache_s": 1},
                "backends": [openai_upstream("up", base_url, timeouts={"connect": 1})],
                "use_cases": [{"name": "u", "backends": ["up"]}],
                "ledger": {"enabled": False},
                "api_keys": [
                    {
                        "name": "ops",
                        "sha256": hashlib.sha256(ADMIN.encode()).hexdigest(),
                        "admin": True,
                    },
                    {"name": "app", "sha256": hashlib.sha256(USER.encode()).hexdigest()},
                ],
            }
        )
    )


async def test_forty_hits_one_probe_round_and_background_refresh() -> None:
    with Upstream() as up:
        app = app_for(up.base_url)
        await app.state.runtime.start()
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gw"
            ) as c:
                before = up.probes  # start-up may probe once
                answers = await asyncio.gather(*(c.get("/readyz") for _ in range(20)))
                answers += [await c.get("/readyz") for _ in range(20)]
                assert all(r.status_code == 200 for r in answers)
                assert up.probes - before <= 2, up.probes - before  # not 40
                assert app.state.readiness.rounds <= 2
                # stale after readyz_cache_s: the next hit is answered from the cache and starts
                # a round in the background
                rounds = app.state.readiness.rounds
                await asyncio.sleep(1.1)
                assert (await c.get("/readyz")).status_code == 200
                for _ in range(50):
                    if app.state.readiness.rounds > rounds:
                        break
                    await asyncio.sleep(0.05)
                assert app.state.readiness.rounds == rounds + 1
        finally:
            await app.state.runtime.close()


async def test_detail_only_for_admin_keys_and_down_is_503() -> None:
    with Upstream() as up:
        app = app_for(up.base_url)
        await app.state.runtime.start()
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gw"
            ) as c:
                anonymous = (await c.get("/readyz")).json()
                user = (await c.get("/readyz", headers={"Authorization": f"Bearer {USER}"})).json()
                admin = (
                    await c.get("/readyz", headers={"Authorization": f"Bearer {ADMIN}"})
                ).json()
        finally:
            await app.state.runtime.close()
    assert anonymous == user == {"status": "ready", "backends": {"up": {"ok": True}}}
    assert (
        admin["backends"]["up"]["ok"] is True and "reachable" in admin["backends"]["up"]["detail"]
    )
    # nothing listening: 503 (a round with a backend down is kept 1 s at most)
    with Upstream() as gone:
        url = gone.base_url
    app = app_for(url)
    await app.state.runtime.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw"
        ) as c:
            r = await c.get("/readyz", headers={"Authorization": f"Bearer {ADMIN}"})
    finally:
        await app.state.runtime.close()
    assert r.status_code == 503
    assert (
        r.json()["backends"]["up"]["ok"] is False
        and "unreachable" in r.json()["backends"]["up"]["detail"]
    )
