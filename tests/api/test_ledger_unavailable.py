"""The ledger is unavailable (its SQLite file write-locked by another process): every request gets
503 ``ledger_unavailable`` with ``Retry-After`` within ``ledger.timeout_ms`` -- answers withheld,
nothing sent to a backend that is not self-hosted, never an answer without its row -- and
service resumes by itself once the lock is gone. Through the real ASGI app and a real SQLite
ledger; the backends are fakes that record what reached them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from souverain.api.app import create_app
from souverain.config import parse_config
from souverain.ledger.readonly import open_readonly
from tests.support.configs import openai_upstream
from tests.support.fakes import FakeBackend, install
from tests.support.pgserver import PrivatePostgres

TIMEOUT_MS = 400
LOCKER = """
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
"""


def chat(model: str, **extra) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


class Lock:
    """Another process holding the ledger's write lock until released."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LOCKER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


def make_app(url: str):
    cfg = parse_config(
        {
            "backends": [
                openai_upstream("local", "http://127.0.0.1:9/v1"),
                openai_upstream("remote", "http://127.0.0.1:9/v1", self_hosted=False),
            ],
            "use_cases": [
                {"name": "here", "backends": ["local"]},
                {"name": "away", "backends": ["remote"]},
            ],
            "ledger": {"url": url, "timeout_ms": TIMEOUT_MS},
        }
    )
    app = create_app(cfg)
    local, remote = FakeBackend("local", text="a b c"), FakeBackend("remote", self_hosted=False)
    install(app, local, remote)
    return app, local, remote


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[object, Path, FakeBackend, FakeBackend]]:
    db = tmp_path / "ledger.db"
    app, local, remote = make_app(str(db))
    yield app, db, local, remote


def rows(url: str) -> list[dict]:
    with open_readonly(url) as reader:
        return list(reader.rows())


async def test_locked_ledger_refuses_fast_and_resumes(gateway) -> None:
    app, db, _, remote = gateway
    runtime = app.state.runtime
    await runtime.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw", timeout=30
        ) as c:
            assert (await c.post("/v1/chat/completions", json=chat("here"))).status_code == 200
            lock = Lock(db)
            try:
                for model in ("here", "away"):
                    t0 = time.perf_counter()
                    r = await c.post("/v1/chat/completions", json=chat(model))
                    waited = time.perf_counter() - t0
                    assert r.status_code == 503, r.text
                    assert r.json()["error"]["code"] == "ledger_unavailable"
                    assert r.headers["Retry-After"].isdigit()
                    # within the configured timeout (and far from the old 30-40 s waits)
                    assert waited < TIMEOUT_MS / 1000 * 3 + 1, waited
                assert not remote.received, "data left although the ledger could not be written"
                # streamed: the stream ends with the error, without its finish chunk
                r = await c.post("/v1/chat/completions", json=chat("here", stream=True))
                events = [
                    json.loads(line[6:])
                    for line in r.text.splitlines()
                    if line.startswith("data: {")
                ]
                assert events[-1]["error"]["code"] == "ledger_unavailable"
                assert not any(
                    (e.get("choices") or [{}])[0].get("finish_reason") for e in events[:-1]
                )
            finally:
                lock.release()
            # resumes by itself within 5 s of the lock going away
            deadline = time.monotonic() + 5
            while True:
                r = await c.post("/v1/chat/completions", json=chat("away"))
                if r.status_code == 200 or time.monotonic() > deadline:
                    break
            assert r.status_code == 200, r.text
            assert (await c.post("/v1/chat/completions", json=chat("here"))).status_code == 200
    finally:
        await runtime.close()
    found = rows(f"sqlite:///{db}")
    # exactly the three answered requests have rows: none for the withheld ones, no pending
    assert [(r["use_case"], r["status"], r["http_status"]) for r in found] == [
        ("here", "completed", 200),
        ("away", "completed", 200),
        ("here", "completed", 200),
    ]
    with open_readonly(f"sqlite:///{db}") as reader:
        assert reader.verify().ok


async def _post(c: httpx.AsyncClient, model: str) -> httpx.Response:
    return await c.post("/v1/chat/completions", json=chat(model))


async def test_postgres_down_refuses_fast_and_resumes() -> None:
    with PrivatePostgres() as pg:
        app, _, remote = make_app(pg.url)
        runtime = app.state.runtime
        await runtime.start()
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gw", timeout=30
            ) as c:
                assert (await _post(c, "away")).status_code == 200
                sent = len(remote.received)
                pg.stop("immediate")
                for model in ("here", "away"):
                    t0 = time.perf_counter()
                    r = await _post(c, model)
                    assert r.status_code == 503, r.text
                    assert r.json()["error"]["code"] == "ledger_unavailable"
                    assert "Retry-After" in r.headers
                    assert time.perf_counter() - t0 < 5, "waited past ledger.timeout_ms"
                assert len(remote.received) == sent, "data left without its write-ahead row"
                pg.start()
                deadline = time.monotonic() + 5
                while (r := await _post(c, "here")).status_code != 200:
                    assert time.monotonic() < deadline, r.text
                    await asyncio.sleep(0.1)
                assert (await _post(c, "away")).status_code == 200
        finally:
            await runtime.close()
        found = rows(pg.url)
        assert [r["status"] for r in found if r["status"] != "pending"] == ["completed"] * 3


async def test_postgres_hard_restart_every_200_has_its_completed_row() -> None:
    """4 concurrent clients while PostgreSQL is stopped hard (-m immediate) for 2 s and started
    again: the request ids answered 200 are exactly the completed rows."""
    with PrivatePostgres() as pg:
        app, _, _ = make_app(pg.url)
        runtime = app.state.runtime
        await runtime.start()
        answered: list[str] = []
        statuses: list[int] = []
        stop = asyncio.Event()

        async def client(model: str) -> None:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gw", timeout=30
            ) as c:
                while not stop.is_set():
                    r = await _post(c, model)
                    statuses.append(r.status_code)
                    if r.status_code == 200:
                        answered.append(r.headers["X-Request-Id"])
                    else:
                        assert r.json()["error"]["code"] == "ledger_unavailable", r.text
                        await asyncio.sleep(0.05)

        try:
            tasks = [asyncio.create_task(client(m)) for m in ("here", "away", "here", "away")]
            await asyncio.sleep(1.0)
            await asyncio.to_thread(pg.stop, "immediate")
            await asyncio.sleep(2.0)
            await asyncio.to_thread(pg.start)
            await asyncio.sleep(2.0)
            stop.set()
            await asyncio.gather(*tasks)
        finally:
            await runtime.close()
        completed = {r["request_id"] for r in rows(pg.url) if r["status"] == "completed"}
        assert 503 in statuses and statuses[-1] == 200, statuses
        assert sorted(answered) == sorted(completed)


async def test_egress_row_whose_finish_failed_is_closed_as_the_503_it_was(gateway) -> None:
    """Data left (write-ahead row committed), then the ledger locked before the finish: the
    client gets 503, and the next write that succeeds closes the pending row as failed 503."""
    app, db, _, remote = gateway
    remote.delay = 0.3
    runtime = app.state.runtime
    await runtime.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw", timeout=30
        ) as c:
            task = asyncio.create_task(_post(c, "away"))
            while not remote.received:
                await asyncio.sleep(0.02)
            lock = Lock(db)  # the write-ahead row is committed; the backend is answering
            try:
                r = await task
            finally:
                lock.release()
            assert r.status_code == 503 and r.json()["error"]["code"] == "ledger_unavailable"
            withheld = r.headers["X-Request-Id"]
            assert (await _post(c, "here")).status_code == 200
    finally:
        await runtime.close()
    by_id = {r["request_id"]: r for r in rows(f"sqlite:///{db}")}
    row = by_id[withheld]
    assert (row["status"], row["http_status"], row["error_code"]) == (
        "failed",
        503,
        "ledger_unavailable",
    )
    assert row["backend"] == "remote"
    assert not [r for r in by_id.values() if r["status"] == "pending"]
