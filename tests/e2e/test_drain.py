"""SIGTERM on a real ``souverain serve`` process with a stream in flight: /readyz turns 503 first,
new requests get 503 ``shutting_down`` (OpenAI-shaped), the stream finishes, the process exits 0
(and, past ``server.drain_s``, stops anyway)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai
import pytest
import yaml

from souverain.ledger import Ledger
from tests.support.configs import openai_upstream
from tests.support.upstream import Upstream, free_port

pytestmark = pytest.mark.slow
REPLY = "one two three four five six"  # the upstream sends a word every 0.5 s


@contextmanager
def serving(
    tmp: Path, upstream: Upstream, drain_s: float
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    cfg = tmp / "gw.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "server": {"drain_s": drain_s},
                "backends": [openai_upstream("up", upstream.base_url)],
                "use_cases": [{"name": "u", "backends": ["up"]}],
                "ledger": {"url": f"sqlite:///{tmp / 'ledger.db'}"},
            }
        )
    )
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "souverain", "serve", "-c", str(cfg), "--port", str(port)],
        env={**os.environ, "SOUVERAIN_DATA_DIR": str(tmp / "data")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode()  # type: ignore[union-attr]
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the gateway did not become ready"
            time.sleep(0.1)
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def until(predicate, within_s: float = 3.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within_s
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_sigterm_drains_the_stream_then_exits_0(tmp_path: Path) -> None:
    with Upstream(mode="slow_stream", reply=REPLY) as up, serving(tmp_path, up, 20) as (proc, base):
        client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)
        stream = client.chat.completions.create(
            model="u", messages=[{"role": "user", "content": "count"}], stream=True
        )
        chunks = iter(stream)
        first = next(chunks)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        until(lambda: httpx.get(base + "/readyz", timeout=2).status_code == 503)
        ready = httpx.get(base + "/readyz", timeout=2)
        assert ready.json()["status"] == "draining" and ready.json()["in_flight"] == 1
        assert httpx.get(base + "/healthz", timeout=2).status_code == 200
        with pytest.raises(openai.APIStatusError) as refused:
            openai.OpenAI(
                base_url=base + "/v1", api_key="unused", max_retries=0
            ).chat.completions.create(
                model="u", messages=[{"role": "user", "content": "hi"}], max_tokens=4
            )
        assert refused.value.status_code == 503
        err = refused.value.response.json()["error"]
        assert err["code"] == "shutting_down" and err["type"] == "service_unavailable"
        assert refused.value.response.headers["retry-after"] == "1"
        text = (first.choices[0].delta.content or "") + "".join(
            c.choices[0].delta.content or "" for c in chunks if c.choices
        )
        assert text == REPLY  # the stream in flight finished
        assert proc.wait(timeout=15) == 0
        assert time.monotonic() - sent < 10
    with Ledger.open(str(tmp_path / "ledger.db")) as ledger:
        rows = list(ledger.rows())
    assert [(r["status"], r["stream"]) for r in rows] == [("completed", True)]
    assert ledger_ok(tmp_path)


def ledger_ok(tmp: Path) -> bool:
    with Ledger.open(str(tmp / "ledger.db")) as ledger:
        return bool(ledger.verify().ok)


def test_drain_s_bounds_the_wait(tmp_path: Path) -> None:
    with (
        Upstream(mode="slow_stream", reply=REPLY * 4) as up,
        serving(tmp_path, up, 1) as (proc, base),
    ):
        client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)
        stream = client.chat.completions.create(
            model="u", messages=[{"role": "user", "content": "count"}], stream=True
        )
        next(iter(stream))
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        # drain_s (1 s), then uvicorn's 5 s for the open connection: not the stream's 12 s
        assert time.monotonic() - sent < 9
