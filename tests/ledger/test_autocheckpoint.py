"""The gateway signs checkpoints by itself: every N rows, every M minutes, at shutdown; never a
chain it has not checked; replicas sharing one sink (SQLite and the real PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from souverain.cli.ledger import ledger_app
from souverain.cli.main import app as main_app
from souverain.config import parse_config
from souverain.gateway.runtime import Runtime
from souverain.ledger import Ledger
from souverain.ledger.checkpoint import AutoCheckpointer, load_key, newest
from tests.ledger.helpers import record
from tests.support.configs import openai_upstream

KEY = "a-signing-key-of-32-bytes-length"
runner = CliRunner()


@pytest.fixture(autouse=True)
def signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOUVERAIN_LEDGER_SIGNING_KEY", KEY)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def write(ledger: Ledger, n: int) -> None:
    for _ in range(n):
        ledger.write(record())


def files(sink: Path) -> list[dict]:
    return sorted((json.loads(p.read_text()) for p in sink.glob("*.json")), key=lambda d: d["seq"])


def verify_cli(url: str, sink: Path) -> tuple[int, str]:
    result = runner.invoke(ledger_app, ["verify", "--url", url, "--checkpoint", str(sink)])
    return result.exit_code, result.stdout + result.stderr


def test_every_rows_every_minutes_and_final(ledger_url: str, tmp_path: Path) -> None:
    sink, clock = tmp_path / "sink", Clock()
    sink.mkdir()
    with Ledger.open(ledger_url) as ledger:
        auto = AutoCheckpointer(ledger, sink, load_key(), every_rows=5, every_s=600, clock=clock)
        write(ledger, 3)
        assert auto.tick() is None and files(sink) == []  # 3 < 5 rows, 0 s < 600 s
        write(ledger, 2)
        assert auto.tick() is not None
        assert [d["seq"] for d in files(sink)] == [5]
        assert auto.tick() is None  # nothing new
        write(ledger, 1)
        assert auto.tick() is None  # 1 row, too early
        clock.now += 600
        assert auto.tick() is not None  # the minutes are up and a row was sealed
        write(ledger, 2)
        assert auto.tick(final=True) is not None  # shutdown anchors the rest
        assert auto.tick(final=True) is None  # ...once
        assert [d["seq"] for d in files(sink)] == [5, 6, 8]
        head = ledger.head()
    assert files(sink)[-1]["head_hash"] == head[1]
    code, out = verify_cli(ledger_url, sink)
    assert code == 0 and "3 checkpoint(s) ok" in out, out


def test_a_tampered_tail_is_never_signed(
    ledger_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink, clock = tmp_path / "sink", Clock()
    sink.mkdir()
    with Ledger.open(ledger_url) as ledger:
        auto = AutoCheckpointer(ledger, sink, load_key(), every_rows=2, every_s=60, clock=clock)
        write(ledger, 2)
        assert auto.tick() is not None
        write(ledger, 2)
        with ledger.engine.begin() as conn:  # someone edits a row sealed after the checkpoint
            conn.execute(text("UPDATE ledger SET cost_eur = 99 WHERE seq = 3"))
        with caplog.at_level(logging.ERROR, logger="souverain.ledger.checkpoint"):
            assert auto.tick() is None
        assert "seq 3 no longer hashes" in (auto.problem or "")
        assert "not signing" in caplog.text
        write(ledger, 3)
        clock.now += 61
        assert auto.tick() is None and auto.tick(final=True) is None  # still broken: never
    assert [d["seq"] for d in files(sink)] == [2]


def test_a_truncated_ledger_is_not_signed_over(ledger_url: str, tmp_path: Path) -> None:
    """A process starting on a ledger cut back past the newest checkpoint refuses to sign."""
    sink = tmp_path / "sink"
    sink.mkdir()
    with Ledger.open(ledger_url) as ledger:
        write(ledger, 4)
        assert AutoCheckpointer(ledger, sink, load_key(), every_rows=1, every_s=60).tick()
        h2 = next(r for r in ledger.rows() if r["seq"] == 2)["row_hash"]
        with ledger.engine.begin() as conn:
            conn.execute(text("DELETE FROM ledger WHERE seq > 2"))
            conn.execute(text("UPDATE ledger_chain SET seq = 2, head_hash = :h"), {"h": h2})
        assert ledger.verify().ok  # the chain alone verifies
        fresh = AutoCheckpointer(ledger, sink, load_key(), every_rows=1, every_s=60)
        assert fresh.tick() is None
        assert "truncated" in (fresh.problem or "")
        write(ledger, 3)  # grown back past seq 4: still not the rows that were signed
        fresh = AutoCheckpointer(ledger, sink, load_key(), every_rows=1, every_s=60)
        assert fresh.tick() is None
        assert "re-hashed: the row at seq 4" in (fresh.problem or "")
    assert [d["seq"] for d in files(sink)] == [4]


def test_replicas_sharing_a_sink_count_each_others_checkpoints(
    ledger_url: str, tmp_path: Path
) -> None:
    sink, clock = tmp_path / "sink", Clock()
    sink.mkdir()
    with Ledger.open(ledger_url) as one, Ledger.open(ledger_url) as two:
        a = AutoCheckpointer(one, sink, load_key(), every_rows=3, every_s=600, clock=clock)
        b = AutoCheckpointer(two, sink, load_key(), every_rows=3, every_s=600, clock=clock)
        write(one, 2)
        write(two, 1)
        assert a.tick() is not None
        assert b.tick() is None  # a's checkpoint at seq 3 is the newest: not due for b
        write(two, 3)
        assert b.tick() is not None
    assert [d["seq"] for d in files(sink)] == [3, 6]
    assert newest(sink)[1]["seq"] == 6


def config(tmp_path: Path, **checkpoints: object) -> dict:
    return {
        "backends": [openai_upstream("local", "http://127.0.0.1:9/v1")],
        "use_cases": [{"name": "docs", "backends": ["local"]}],
        "ledger": {
            "url": str(tmp_path / "ledger.db"),
            "checkpoints": {"dir": str(tmp_path / "sink"), **checkpoints},
        },
    }


async def test_the_running_gateway_signs_and_anchors_at_shutdown(tmp_path: Path) -> None:
    runtime = Runtime(parse_config(config(tmp_path, every_rows=2, every_minutes=60)))
    await runtime.start(wait=False)
    try:
        assert runtime.ledger is not None
        write(runtime.ledger, 2)
        for _ in range(100):  # the background task checks every 5 s at most
            if newest(tmp_path / "sink"):
                break
            await asyncio.sleep(0.1)
        assert newest(tmp_path / "sink")[1]["seq"] == 2
        write(runtime.ledger, 1)  # not due (1 < 2 rows): left for shutdown
    finally:
        await runtime.close()
    assert newest(tmp_path / "sink")[1]["seq"] == 3
    code, out = verify_cli(str(tmp_path / "ledger.db"), tmp_path / "sink")
    assert code == 0, out


def test_serve_refuses_to_start_without_a_signing_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    monkeypatch.delenv("SOUVERAIN_LEDGER_SIGNING_KEY")
    path = tmp_path / "souverain.yaml"
    path.write_text(yaml.safe_dump(config(tmp_path)))
    result = runner.invoke(main_app, ["serve", "--config", str(path)])
    out = result.stdout + result.stderr
    assert result.exit_code == 2, out
    assert "ledger.checkpoints" in out and "SOUVERAIN_LEDGER_SIGNING_KEY" in out


def test_bad_checkpoint_config_names_the_field() -> None:
    from souverain.config.loader import ConfigError

    with pytest.raises(ConfigError) as err:
        parse_config({"ledger": {"checkpoints": {"dir": "/x", "every_rows": 0}}})
    assert "ledger.checkpoints.every_rows" in str(err.value)


def test_check_config_warns_about_a_missing_signing_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    path = tmp_path / "souverain.yaml"
    path.write_text(yaml.safe_dump(config(tmp_path)))
    result = runner.invoke(main_app, ["check-config", str(path)])
    assert result.exit_code == 0 and "ledger.checkpoints" not in result.stderr
    monkeypatch.delenv("SOUVERAIN_LEDGER_SIGNING_KEY")
    result = runner.invoke(main_app, ["check-config", str(path)])
    assert "ledger.checkpoints: no signing key" in result.stderr
