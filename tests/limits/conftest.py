"""The real Redis at 127.0.0.1:6379 (``SOUVERAIN_TEST_REDIS`` overrides); each test gets its own
key prefix. Redis missing: skipped with the reason, except when CI is set."""

from __future__ import annotations

import os
import uuid

import pytest

REDIS_URL = os.environ.get("SOUVERAIN_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_available() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        reason = f"Redis at {REDIS_URL} unreachable: {exc}"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI is set: Redis tests must run)")
        pytest.skip(reason)
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_available: str):  # type: ignore[no-untyped-def]
    import redis

    prefix = f"souverain-test:{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.Redis.from_url(redis_available)
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)
    client.close()
