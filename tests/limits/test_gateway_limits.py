"""Rate limits through the real app with the official ``openai`` client: a use case's rpm in the
config, a runtime key's --rpm/--tpm from the CLI, counted in the real Redis; 429 ``rate_limited``
with Retry-After and the x-ratelimit headers; Redis down: 503 by default, served with
``limits.fail_open``; never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml
from typer.testing import CliRunner

from souverain.api.app import create_app
from souverain.cli.main import app as cli
from souverain.config import ConfigError, load_config, parse_config
from tests.support.configs import openai_upstream
from tests.support.upstream import Upstream

runner = CliRunner()
MSG = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with Upstream(reply="ok") as up:  # usage: 11 prompt + 1 completion tokens
        yield up


def config(tmp: Path, upstream: Upstream, gw: dict[str, Any], uc: Any = None) -> Path:
    """``gw``: the top-level ``limits``; ``uc``: the ``docs`` use case's ``limits``."""
    docs: dict[str, Any] = {"name": "docs", "backends": ["up"]}
    if uc is not None:
        docs["limits"] = uc
    data = {
        "backends": [openai_upstream("up", upstream.base_url)],
        "use_cases": [docs, {"name": "free", "backends": ["up"]}],
        "ledger": {"url": f"sqlite:///{tmp / 'ledger.db'}"},
        "limits": gw,
    }
    path = tmp / "gw.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


async def started(path: Path) -> Any:
    app = create_app(parse_config(yaml.safe_load(path.read_text())))
    await app.state.runtime.start(wait=True)
    return app


def client(app: Any, key: str = "none") -> openai.AsyncOpenAI:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
    return openai.AsyncOpenAI(base_url="http://gw/v1", api_key=key, http_client=http, max_retries=0)


@pytest.fixture
async def redis_limits(redis_available: str, redis_prefix: str) -> dict[str, Any]:
    return {"redis_url": redis_available, "redis_prefix": redis_prefix}


async def test_use_case_rpm_in_redis(
    tmp_path: Path, upstream: Upstream, redis_limits: dict[str, Any]
) -> None:
    app = await started(config(tmp_path, upstream, redis_limits, uc={"rpm": 3}))
    c = client(app)
    try:
        for left in (2, 1, 0):
            raw = await c.chat.completions.with_raw_response.create(
                model="docs", messages=MSG, max_tokens=4
            )
            assert raw.headers["x-ratelimit-limit-requests"] == "3"
            assert raw.headers["x-ratelimit-remaining-requests"] == str(left)
            assert raw.headers["x-ratelimit-reset-requests"].endswith("s")
        with pytest.raises(openai.RateLimitError) as exc:
            await c.chat.completions.create(model="docs", messages=MSG, max_tokens=4)
        resp = exc.value.response
        assert resp.status_code == 429
        err = resp.json()["error"]
        assert err["code"] == "rate_limited" and err["type"] == "rate_limit_error"
        assert "use_case:docs" in err["message"] and "3 requests per minute" in err["message"]
        assert 1 <= int(resp.headers["retry-after"]) <= 60
        assert resp.headers["x-ratelimit-remaining-requests"] == "0"
        # streaming is counted the same way, and another use case is not limited
        with pytest.raises(openai.RateLimitError):
            await c.chat.completions.create(model="docs", messages=MSG, stream=True)
        ok = await c.chat.completions.with_raw_response.create(model="free", messages=MSG)
        assert "x-ratelimit-limit-requests" not in ok.headers
        # a second app on the same Redis (another replica) sees the same count
        app2 = await started(config(tmp_path / "..", upstream, redis_limits, uc={"rpm": 3}))
        try:
            with pytest.raises(openai.RateLimitError):
                await client(app2).chat.completions.create(model="docs", messages=MSG)
        finally:
            await app2.state.runtime.close()
    finally:
        await app.state.runtime.close()


async def test_runtime_key_rpm_and_tpm(
    tmp_path: Path, upstream: Upstream, redis_limits: dict[str, Any]
) -> None:
    path = config(tmp_path, upstream, redis_limits)
    made = runner.invoke(
        cli,
        [
            "keys",
            "create",
            "k",
            "-u",
            "*",
            "--tpm",
            "20",
            "--rpm",
            "50",
            "-c",
            str(path),
            "--format",
            "json",
        ],
    )
    assert made.exit_code == 0, made.output
    key = json.loads(made.stdout)["key"]
    listed = json.loads(
        runner.invoke(cli, ["keys", "list", "-c", str(path), "--format", "json"]).stdout
    )
    assert listed[0]["rpm"] == 50 and listed[0]["tpm"] == 20
    app = await started(path)
    c = client(app, key)
    try:
        first = await c.chat.completions.with_raw_response.create(model="docs", messages=MSG)
        assert first.headers["x-ratelimit-limit-tokens"] == "20"
        assert first.headers["x-ratelimit-remaining-tokens"] == "20"
        await app.state.runtime.limiter.close()  # waits for the background token count
        second = await c.chat.completions.with_raw_response.create(model="free", messages=MSG)
        assert second.headers["x-ratelimit-remaining-tokens"] == "8"  # 20 - 12
        assert second.headers["x-ratelimit-remaining-requests"] == "48"
        await app.state.runtime.limiter.close()
        with pytest.raises(openai.RateLimitError) as exc:
            await c.chat.completions.create(model="docs", messages=MSG)
        assert "api_key:k" in str(exc.value) and "20 tokens per minute" in str(exc.value)
        assert exc.value.response.headers["x-ratelimit-remaining-tokens"] == "0"
    finally:
        await app.state.runtime.close()


async def test_redis_down_fails_closed_by_default_open_by_switch(
    tmp_path: Path, upstream: Upstream
) -> None:
    dead = {"redis_url": "redis://127.0.0.1:9/0", "timeout_s": 0.3}
    app = await started(config(tmp_path, upstream, dead, uc={"rpm": 5}))
    try:
        with pytest.raises(openai.APIStatusError) as exc:
            await client(app).chat.completions.create(model="docs", messages=MSG)
        assert exc.value.status_code == 503
        assert exc.value.response.json()["error"]["code"] == "rate_limiter_unavailable"
        ok = await client(app).chat.completions.create(model="free", messages=MSG)  # no limit
        assert ok.choices[0].message.content == "ok"
    finally:
        await app.state.runtime.close()
    app = await started(config(tmp_path, upstream, {**dead, "fail_open": True}, uc={"rpm": 5}))
    try:
        ok = await client(app).chat.completions.create(model="docs", messages=MSG)
        assert ok.choices[0].message.content == "ok"
    finally:
        await app.state.runtime.close()


async def test_in_process_counters_without_redis(tmp_path: Path, upstream: Upstream) -> None:
    app = await started(config(tmp_path, upstream, {}, uc={"rpm": 1}))
    try:
        await client(app).completions.create(model="docs", prompt="a", max_tokens=2)
        with pytest.raises(openai.RateLimitError):
            await client(app).completions.create(model="docs", prompt="a", max_tokens=2)
    finally:
        await app.state.runtime.close()


@pytest.mark.parametrize(
    ("limits", "field", "says"),
    [
        ({"redis_url": "redis://:hunter2@127.0.0.1:6379/0"}, "limits.redis_url", "password"),
        ({"redis_url": "http://127.0.0.1:6379"}, "limits.redis_url", "unsupported scheme"),
        ({"redis_url": "redis://a", "redis_url_env": "X"}, "limits", "not both"),
        ({"fail_open": "maybe"}, "limits.fail_open", "bool"),
        ({"redis": "redis://a"}, "limits.redis", "unknown field"),
    ],
)
def test_bad_limits_config_names_the_field(
    tmp_path: Path, upstream: Upstream, limits: dict[str, Any], field: str, says: str
) -> None:
    path = config(tmp_path, upstream, limits)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    text = str(exc.value)
    assert field in text and says in text and str(path) in text
    assert "hunter2" not in text


@pytest.mark.parametrize("bad", [{"rpm": 0}, {"tpm": -1}, {"rpm": "many"}, {"rps": 3}])
def test_bad_use_case_limits(tmp_path: Path, upstream: Upstream, bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"use_cases\[0\]\.limits|use_cases.0.limits"):
        load_config(config(tmp_path, upstream, {}, uc=bad))


def test_check_config_says_where_limits_are_counted(
    tmp_path: Path, upstream: Upstream, redis_available: str
) -> None:
    plain = runner.invoke(cli, ["check-config", str(config(tmp_path, upstream, {}))])
    assert plain.exit_code == 0
    assert "Rate limits: counted in process" in " ".join(plain.output.split())
    shared = runner.invoke(
        cli, ["check-config", str(config(tmp_path, upstream, {"redis_url": redis_available}))]
    )
    assert shared.exit_code == 0
    assert f"Rate limits: counted in Redis at {redis_available}" in " ".join(shared.output.split())
