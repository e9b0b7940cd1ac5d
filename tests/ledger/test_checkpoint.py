"""Signed checkpoints catch truncation and re-hashing; verify is read-only and refuses a database
that holds no ledger (SQLite and the real PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from souverain.cli.ledger import ledger_app
from souverain.ledger import Ledger
from souverain.ledger.engine import normalise_url
from souverain.ledger.record import row_hash
from tests.ledger.helpers import record

runner = CliRunner()
KEY = "k" * 32


@pytest.fixture(autouse=True)
def signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOUVERAIN_LEDGER_SIGNING_KEY", KEY)


def fill(url: str, n: int) -> None:
    with Ledger.open(url) as ledger:
        for _ in range(n):
            ledger.write(record())


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(ledger_app, list(args))
    return result.exit_code, result.stdout + result.stderr


def sql(url: str, *statements: str, **params: object) -> None:
    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), params)
    engine.dispose()


def test_checkpoint_then_truncation_is_caught(ledger_url: str, tmp_path: Path) -> None:
    fill(ledger_url, 5)
    cp = tmp_path / "cp.json"
    code, out = cli("checkpoint", "--url", ledger_url, "--out", str(cp))
    assert code == 0, out
    doc = json.loads(cp.read_text())
    assert doc["seq"] == 5 and len(doc["head_hash"]) == 64 and doc["alg"] == "HMAC-SHA256"
    assert set(doc) >= {"time", "key_id", "signature"} and KEY not in cp.read_text()
    assert cli("verify", "--url", ledger_url, "--checkpoint", str(cp))[0] == 0
    fill(ledger_url, 2)  # rows after the checkpoint are fine
    code, out = cli("verify", "--url", ledger_url, "--checkpoint", str(cp))
    assert code == 0 and "1 checkpoint(s) ok" in out
    # cut the tail back to seq 3 and move the head: the chain alone still verifies...
    with Ledger.open(ledger_url) as ledger:
        h3 = next(r for r in ledger.rows() if r["seq"] == 3)["row_hash"]
    sql(
        ledger_url,
        "DELETE FROM ledger WHERE seq > 3",
        "UPDATE ledger_chain SET seq = 3, head_hash = :h",
        h=h3,
    )
    assert cli("verify", "--url", ledger_url)[0] == 0
    # ...but not against the checkpoint
    code, out = cli("verify", "--url", ledger_url, "--checkpoint", str(cp))
    assert code == 1 and "truncated" in out and "seq 5" in out


def test_full_rehash_is_caught(ledger_url: str, tmp_path: Path) -> None:
    fill(ledger_url, 4)
    cp = tmp_path / "sink"
    cp.mkdir()
    assert cli("checkpoint", "--url", ledger_url, "--out", str(cp / "a.json"))[0] == 0
    # someone with write access edits row 2 and re-hashes every row after it and the head
    with Ledger.open(ledger_url) as ledger:
        rows = [r for r in ledger.rows() if r["seq"] is not None]
    prev = rows[0]["row_hash"]
    engine = create_engine(normalise_url(ledger_url))
    with engine.begin() as conn:
        for row in rows[1:]:
            row = {**row, "prev_hash": prev}
            if row["seq"] == 2:
                row["cost_eur"] = 0.0
            row["row_hash"] = row_hash(row)
            conn.execute(
                text("UPDATE ledger SET cost_eur=:c, prev_hash=:p, row_hash=:h WHERE seq=:s"),
                {
                    "c": row["cost_eur"],
                    "p": row["prev_hash"],
                    "h": row["row_hash"],
                    "s": row["seq"],
                },
            )
            prev = row["row_hash"]
        conn.execute(text("UPDATE ledger_chain SET head_hash = :h"), {"h": prev})
    engine.dispose()
    assert cli("verify", "--url", ledger_url)[0] == 0  # the chain alone cannot tell
    code, out = cli("verify", "--url", ledger_url, "--checkpoint", str(cp))
    assert code == 1 and "re-hashed" in out


def test_bad_signature_and_wrong_key(ledger_url: str, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    fill(ledger_url, 2)
    cp = tmp_path / "cp.json"
    assert cli("checkpoint", "--url", ledger_url, "--out", str(cp))[0] == 0
    doc = json.loads(cp.read_text())
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**doc, "seq": 1}))
    code, out = cli("verify", "--url", ledger_url, "--checkpoint", str(forged))
    assert code == 1 and "bad signature" in out
    key_file = tmp_path / "other.key"
    key_file.write_text("another-key-of-enough-length")
    code, out = cli(
        "verify", "--url", ledger_url, "--checkpoint", str(cp), "--key-file", str(key_file)
    )
    assert code == 1 and "another key" in out
    monkeypatch.delenv("SOUVERAIN_LEDGER_SIGNING_KEY")
    code, out = cli("checkpoint", "--url", ledger_url)
    assert code == 2 and "SOUVERAIN_LEDGER_SIGNING_KEY" in out


def _hashes(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir())
        if p.is_file()
    }


def test_verify_changes_no_byte_wal_included(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    fill(str(db), 3)
    # leave a live WAL behind: a second connection holds the WAL open with uncheckpointed pages
    holder = sqlite3.connect(db)
    holder.execute("PRAGMA wal_autocheckpoint=0")
    holder.execute("UPDATE ledger SET model = model")  # a write that lands in the WAL
    holder.commit()
    assert (tmp_path / "ledger.db-wal").exists()
    before = _hashes(tmp_path)
    code, out = cli("verify", "--url", str(db))
    assert code == 0, out
    cp = tmp_path.parent / f"{tmp_path.name}-cp.json"
    assert cli("checkpoint", "--url", str(db), "--out", str(cp))[0] == 0
    assert cli("verify", "--url", str(db), "--checkpoint", str(cp))[0] == 0
    assert _hashes(tmp_path) == before
    holder.close()


def test_verify_closed_sqlite_changes_no_byte(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    fill(str(db), 3)
    before = _hashes(tmp_path)
    assert cli("verify", "--url", str(db))[0] == 0
    assert _hashes(tmp_path) == before


def test_no_ledger_here_sqlite(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    code, out = cli("verify", "--url", str(empty))
    assert code == 3 and "no ledger here" in out and "ok" not in out
    assert empty.stat().st_size == 0  # not migrated
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    before = _hashes(tmp_path)
    code, out = cli("verify", "--url", str(other))
    assert code == 3 and "no ledger here" in out
    assert _hashes(tmp_path) == before
    code, out = cli("verify", "--url", str(tmp_path / "missing.db"))
    assert code == 3 and not (tmp_path / "missing.db").exists()


@pytest.mark.postgres
def test_no_ledger_here_postgres(pg_url: str) -> None:
    code, out = cli("verify", "--url", pg_url)
    assert code == 3 and "no ledger here" in out and "ok:" not in out
    engine = create_engine(normalise_url(pg_url))
    with engine.connect() as conn:
        tables = conn.execute(
            text(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
            )
        ).scalar()
    engine.dispose()
    assert tables == 0  # nothing was migrated


@pytest.mark.postgres
def test_verify_postgres_is_read_only(pg_url: str) -> None:
    fill(pg_url, 2)
    from souverain.ledger.readonly import open_readonly

    reader = open_readonly(pg_url)
    with reader, reader.read_engine.connect() as conn, pytest.raises(Exception, match="read-only"):
        conn.execute(text("DELETE FROM ledger"))
    assert cli("verify", "--url", pg_url)[0] == 0
