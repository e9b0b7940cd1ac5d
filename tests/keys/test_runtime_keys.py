"""Runtime keys through the real app and the real CLI: created, rotated and revoked in the ledger
database while the gateway runs, seen within 5 s, never printed again; config keys keep working;
an admin runtime key opens the console; a runtime key's monthly budget holds."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import yaml
from typer.testing import CliRunner

from souverain.api.app import create_app
from souverain.cli.main import app as cli
from souverain.config import parse_config
from tests.console.helpers import csrf_of
from tests.support.configs import openai_upstream
from tests.support.upstream import Upstream

CONFIG_KEY = "sk-sov-from-the-config-file"
runner = CliRunner()
CHAT = {"model": "docs", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with Upstream(reply="ok") as up:
        yield up


def write_config(tmp: Path, ledger_url: str, upstream: Upstream, **extra: Any) -> Path:
    data: dict[str, Any] = {
        "backends": [
            openai_upstream(
                "up",
                upstream.base_url,
                self_hosted=False,
                price={"input_eur_per_mtok": 1e5, "output_eur_per_mtok": 0},
            )
        ],
        "use_cases": [
            {"name": "docs", "backends": ["up"], "policy": {"personal_data": "allow"}},
            {"name": "other", "backends": ["up"], "policy": {"personal_data": "allow"}},
        ],
        "ledger": {"url": ledger_url},
        **extra,
    }
    path = tmp / "gw.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
async def gw(tmp_path: Path, ledger_url: str, upstream: Upstream) -> AsyncIterator[Any]:
    path = write_config(tmp_path, ledger_url, upstream)
    app = create_app(parse_config(yaml.safe_load(path.read_text())))
    await app.state.runtime.start(wait=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gw"
    ) as client:
        client.config_path = path  # type: ignore[attr-defined]
        yield client
    await app.state.runtime.close()


def keys(*args: str) -> Any:
    result = runner.invoke(cli, ["keys", *args])
    return result


def create(config: Path, name: str, *extra: str) -> str:
    result = keys("create", name, "--config", str(config), "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"name", "key"} and out["name"] == name
    return str(out["key"])


async def status_within(
    client: httpx.AsyncClient, key: str | None, expected: int, within_s: float = 5.0
) -> float:
    """Seconds until a chat request with ``key`` gets ``expected`` (fails after ``within_s``)."""
    start = time.monotonic()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    while True:
        resp = await client.post("/v1/chat/completions", json=CHAT, headers=headers)
        if resp.status_code == expected:
            return time.monotonic() - start
        assert time.monotonic() - start < within_s, (expected, resp.status_code, resp.text)
        await anyio.sleep(0.1)


async def test_create_rotate_revoke_while_running(gw: httpx.AsyncClient) -> None:
    config = gw.config_path  # type: ignore[attr-defined]
    assert (await gw.post("/v1/chat/completions", json=CHAT)).status_code == 200  # no keys yet
    key = create(config, "team-a", "--use-case", "docs")
    # the first runtime key turns authentication on
    await status_within(gw, None, 401)
    await status_within(gw, key, 200)
    other = await gw.post(
        "/v1/chat/completions",
        json={**CHAT, "model": "other"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert other.status_code == 403 and other.json()["error"]["code"] == "use_case_not_allowed"
    models = await gw.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
    assert [m["id"] for m in models.json()["data"]] == ["docs"]

    listed = keys("list", "--config", str(config), "--format", "json")
    assert listed.exit_code == 0 and key not in listed.output
    (row,) = json.loads(listed.stdout)
    assert row["name"] == "team-a" and row["status"] == "active" and row["use_cases"] == ["docs"]

    rotated = keys("rotate", "team-a", "--config", str(config), "--format", "json")
    assert rotated.exit_code == 0, rotated.output
    new = json.loads(rotated.stdout)["key"]
    assert new != key
    await status_within(gw, new, 200)
    await status_within(gw, key, 200)  # the default grace period: 60 minutes

    again = keys("rotate", "team-a", "--grace-minutes", "0", "-c", str(config), "--format", "json")
    newest = json.loads(again.stdout)["key"]
    await status_within(gw, new, 401)  # no grace: the previous secret stops at once
    await status_within(gw, key, 401)
    await status_within(gw, newest, 200)

    revoked = keys("revoke", "team-a", "--config", str(config))
    assert revoked.exit_code == 0, revoked.output
    waited = await status_within(gw, newest, 401)
    assert waited < 5
    listed = json.loads(keys("list", "-c", str(config), "--format", "json").stdout)
    assert listed[0]["status"] == "revoked" and listed[0]["revoked_at"]
    # still needs a key, though none is valid now
    assert (await gw.post("/v1/chat/completions", json=CHAT)).status_code == 401


async def test_expired_key_stops_working(gw: httpx.AsyncClient) -> None:
    from datetime import UTC, datetime, timedelta

    config = gw.config_path  # type: ignore[attr-defined]
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    key = create(config, "short", "--use-case", "*", "--expires", soon)
    await status_within(gw, key, 200, within_s=1.9)
    # expiry needs no change in the table: it is checked at every request
    await status_within(gw, key, 401)


async def test_budget_of_a_runtime_key(gw: httpx.AsyncClient) -> None:
    config = gw.config_path  # type: ignore[attr-defined]
    # the backend costs 1e5 EUR per million input tokens: 11 prompt tokens = 1.1 EUR
    key = create(config, "capped", "--use-case", "docs", "--budget-eur", "1")
    await status_within(gw, key, 200)
    resp = await gw.post(
        "/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key}"}
    )
    deadline = time.monotonic() + 5
    while resp.status_code == 200 and time.monotonic() < deadline:  # the spend cache: 1 s
        await anyio.sleep(0.2)
        resp = await gw.post(
            "/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key}"}
        )
    assert resp.status_code == 429, resp.text
    err = resp.json()["error"]
    assert err["code"] == "budget_exceeded" and "api_key:capped:month" in err["message"]
    assert int(resp.headers["retry-after"]) >= 1


async def test_config_keys_keep_working_and_admin_runtime_key_opens_the_console(
    tmp_path: Path, upstream: Upstream
) -> None:
    from souverain.ledger.keys import hash_key

    path = write_config(
        tmp_path,
        f"sqlite:///{tmp_path / 'l.db'}",
        upstream,
        api_keys=[{"name": "cfg", "sha256": hash_key(CONFIG_KEY), "use_cases": ["docs"]}],
    )
    admin = create(path, "ops", "--use-case", "docs", "--admin")
    plain = create(path, "user", "--use-case", "docs")
    app = create_app(parse_config(yaml.safe_load(path.read_text())))
    await app.state.runtime.start(wait=True)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw"
        ) as c:
            await status_within(c, CONFIG_KEY, 200)
            await status_within(c, admin, 200)
            form = await c.get("/ui/login")
            assert "No admin key is configured" not in form.text
            refused = await c.post(
                "/ui/login", data={"csrf": csrf_of(form.text), "key": plain, "next": "/ui/"}
            )
            assert refused.status_code == 200 and 'role="alert"' in refused.text  # not admin
            form = await c.get("/ui/login")
            ok = await c.post(
                "/ui/login", data={"csrf": csrf_of(form.text), "key": admin, "next": "/ui/"}
            )
            assert ok.status_code == 303 and ok.headers["location"] == "/ui/"
            page = await c.get("/ui/")
            assert page.status_code == 200 and "data-metric" in page.text
            # revoked: the session ends too (the console checks the key on every page)
            assert keys("revoke", "ops", "-c", str(path)).exit_code == 0
            deadline = time.monotonic() + 5
            while (await c.get("/ui/")).status_code == 200:
                assert time.monotonic() < deadline, "a revoked admin key kept its console session"
                await anyio.sleep(0.1)
    finally:
        await app.state.runtime.close()


def test_cli_refusals_name_the_problem(tmp_path: Path, upstream: Upstream) -> None:
    path = write_config(
        tmp_path,
        f"sqlite:///{tmp_path / 'l.db'}",
        upstream,
        api_keys=[{"name": "cfg", "sha256": "a" * 64}],
    )
    c = str(path)
    for args, expected in [
        (["create", "x", "-u", "nope", "-c", c], "unknown use case(s) nope"),
        (["create", "cfg", "-u", "docs", "-c", c], "has a key named 'cfg'"),
        (["create", "bad name", "-u", "docs", "-c", c], "invalid key name"),
        (["create", "x", "-u", "docs", "--expires", "2001-01-01", "-c", c], "not in the future"),
        (["create", "x", "-u", "docs", "--expires", "soon", "-c", c], "span from now"),
        (
            ["create", "x", "-u", "docs", "--budget-eur", "-1", "-c", c],
            "greater than or equal to 0",
        ),
        (["revoke", "ghost", "-c", c], "no runtime key named 'ghost'"),
        (["rotate", "ghost", "-c", c], "no runtime key named 'ghost'"),
    ]:
        result = keys(*args)
        assert result.exit_code == 2, (args, result.output)
        assert expected in " ".join(result.output.split()), (args, result.output)
    assert create(path, "x", "-u", "docs")
    assert keys("create", "x", "-u", "docs", "-c", c).exit_code == 2  # name taken
    text = keys("list", "-c", c)
    assert text.exit_code == 0 and "x" in text.output and "sk-sov-" not in text.output


def test_serve_binds_beyond_loopback_only_with_keys(
    tmp_path: Path, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    from souverain.api.drain import DrainingServer

    started: list[str] = []

    def run(self: DrainingServer) -> None:  # instead of serving: note where it would listen
        started.append(self.config.host)
        self.started = True

    monkeypatch.setattr(DrainingServer, "run", run)
    path = write_config(tmp_path, f"sqlite:///{tmp_path / 'l.db'}", upstream)
    serve = ["serve", "--config", str(path), "--host", "0.0.0.0", "--port", "0"]
    refused = runner.invoke(cli, serve)
    assert refused.exit_code == 2 and "refusing to listen on 0.0.0.0" in refused.output
    assert started == []
    create(path, "team", "--use-case", "docs")
    accepted = runner.invoke(cli, serve)
    assert accepted.exit_code == 0, accepted.output
    assert started == ["0.0.0.0"]
