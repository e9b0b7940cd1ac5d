"""The sliding window, in this process and in the real Redis: exact counts under concurrency (two
clients standing for two replicas), Retry-After and the x-ratelimit values, tokens counted after
the answer, and a Redis that cannot be reached (fail closed, or open by switch)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from souverain.limits import LimiterUnavailable, Limits, MemoryStore, RateLimited, RateLimiter
from souverain.limits.limiter import duration, rate_headers
from souverain.limits.redis_store import RedisStore
from souverain.limits.window import Check, evaluate
from tests.support.configs import embedded
from tests.support.upstream import free_port


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_window_counts_retry_and_reset() -> None:
    check = Check("k", 3, 1, "requests", "api_key:a")
    ok, usage = evaluate({}, check, 100)
    assert ok and usage.remaining == 2 and usage.reset_s == 60 and usage.retry_s == 0
    buckets = {90: 1, 95: 2}  # 3 in the window: full
    ok, usage = evaluate(buckets, check, 100)
    assert not ok and usage.remaining == 0
    assert usage.retry_s == 50  # the bucket of second 90 leaves the window at 150
    assert usage.reset_s == 55  # everything has left at 155
    assert evaluate(buckets, check, 150)[0]  # one slot free again
    assert evaluate({40: 3}, check, 100)[0]  # older than the window: not counted
    tokens = Check("t", 10, 0, "tokens", "use_case:u")
    assert evaluate({99: 9}, tokens, 100)[0]  # 9 < 10: some tokens left
    assert not evaluate({99: 10}, tokens, 100)[0]


def test_durations_and_headers() -> None:
    assert [duration(x) for x in (0, 0.2, 17, 60, 61.5)] == ["0s", "1s", "17s", "1m0s", "1m2s"]
    _, a = evaluate({}, Check("a", 10, 1, "requests", "api_key:a"), 0)
    _, b = evaluate({0: 5}, Check("b", 8, 1, "requests", "use_case:u"), 0)
    headers = rate_headers([a, b])
    assert headers == {  # the tighter limit: the use case's, 2 left
        "x-ratelimit-limit-requests": "8",
        "x-ratelimit-remaining-requests": "2",
        "x-ratelimit-reset-requests": "1m0s",
    }


async def test_memory_window_slides() -> None:
    clock = Clock()
    limiter = RateLimiter(MemoryStore(clock), {"u": Limits(rpm=2)})
    await limiter.admit(None, None, "u")
    clock.t += 30
    await limiter.admit(None, None, "u")
    with pytest.raises(RateLimited) as exc:
        await limiter.admit(None, None, "u")
    assert exc.value.retry_after_s == 30
    assert exc.value.headers["Retry-After"] == "30"
    assert exc.value.headers["x-ratelimit-remaining-requests"] == "0"
    clock.t += 30  # the first request leaves the window
    await limiter.admit(None, None, "u")


@pytest.fixture(params=["memory", "redis"])
def store_factory(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    if request.param == "memory":
        shared = MemoryStore()
        return lambda: shared, "souverain:rl:"
    url = request.getfixturevalue("redis_available")
    prefix = request.getfixturevalue("redis_prefix")
    return lambda: RedisStore(url, timeout_s=2, shown_url=url), prefix


async def test_exact_count_under_concurrency(store_factory) -> None:  # type: ignore[no-untyped-def]
    factory, prefix = store_factory
    # two limiters on one store (two replicas on one Redis), both limits checked at once
    a = RateLimiter(factory(), {"u": Limits(rpm=40)}, prefix=prefix)
    b = RateLimiter(factory(), {"u": Limits(rpm=40)}, prefix=prefix)
    key = Limits(rpm=30)

    async def one(limiter: RateLimiter) -> bool:
        try:
            await limiter.admit("team", key, "u")
            return True
        except RateLimited:
            return False

    results = await asyncio.gather(*(one(a if i % 2 else b) for i in range(60)))
    assert sum(results) == 30
    # the use case's counter was charged only for admitted requests: 10 more fit there
    other = Limits(rpm=100)
    admitted = [await one_of(b, "other-key", other) for _ in range(12)]
    assert sum(admitted) == 10
    await a.close()
    await b.close()


async def one_of(limiter: RateLimiter, name: str, limits: Limits) -> bool:
    try:
        await limiter.admit(name, limits, "u")
        return True
    except RateLimited as exc:
        assert exc.usage.check.scope == "use_case:u"
        return False


async def test_tokens_counted_after_the_answer(store_factory) -> None:  # type: ignore[no-untyped-def]
    factory, prefix = store_factory
    limiter = RateLimiter(factory(), {}, prefix=prefix)
    key = Limits(tpm=100)
    first = await limiter.admit("team", key, "u")
    assert first.headers()["x-ratelimit-remaining-tokens"] == "100"
    await limiter.spend_tokens(first, 60)
    second = await limiter.admit("team", key, "u")  # 60 < 100: admitted
    assert second.headers()["x-ratelimit-remaining-tokens"] == "40"
    await limiter.spend_tokens(second, 60)
    with pytest.raises(RateLimited) as exc:
        await limiter.admit("team", key, "u")
    assert exc.value.headers["x-ratelimit-limit-tokens"] == "100"
    assert exc.value.headers["x-ratelimit-remaining-tokens"] == "0"
    assert 1 <= exc.value.retry_after_s <= 60
    await limiter.close()


async def test_redis_down_fails_closed_or_open_by_switch() -> None:
    dead = "redis://127.0.0.1:9/0"
    closed = RateLimiter(RedisStore(dead, timeout_s=0.3, shown_url=dead), {"u": Limits(rpm=5)})
    with pytest.raises(LimiterUnavailable, match=r"127\.0\.0\.1:9"):
        await closed.admit(None, None, "u")
    opened = RateLimiter(
        RedisStore(dead, timeout_s=0.3, shown_url=dead), {"u": Limits(rpm=5)}, fail_open=True
    )
    admission = await opened.admit(None, None, "u")
    assert admission.headers() == {}
    # no limit for this use case: no call to the store at all
    assert (await closed.admit(None, None, "no-limit")).usages == []
    await closed.close()
    await opened.close()


async def test_the_password_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A private redis-server with a password: served with the password from the variable that
    limits.redis_password_env names, refused (fail closed) without it, never leaking it."""
    from souverain.config import parse_config

    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server not installed")
    port = free_port()
    proc = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--requirepass",
            "s3cret-pw",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        url = f"redis://127.0.0.1:{port}/0"
        cfg = parse_config(
            {
                "backends": [embedded()],
                "use_cases": [{"name": "u", "backends": ["local"], "limits": {"rpm": 5}}],
                "limits": {"redis_url": url, "redis_password_env": "TEST_REDIS_PW"},
            }
        )
        monkeypatch.setenv("TEST_REDIS_PW", "s3cret-pw")
        limiter = RateLimiter.from_config(cfg)
        for _ in range(50):  # the server starts
            try:
                assert (await limiter.admit(None, None, "u")).usages
                break
            except LimiterUnavailable:
                await asyncio.sleep(0.1)
        else:
            pytest.fail("private redis-server did not answer")
        await limiter.close()
        monkeypatch.delenv("TEST_REDIS_PW")
        limiter = RateLimiter.from_config(cfg)  # no password: refused, fail closed
        with pytest.raises(LimiterUnavailable) as exc:
            await limiter.admit(None, None, "u")
        assert "s3cret-pw" not in str(exc.value)
        await limiter.close()
    finally:
        proc.kill()
        proc.wait()
