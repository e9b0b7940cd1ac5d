"""Captures in the ledger database (SQLite and PostgreSQL): nothing planted is stored, the sample
size, retention, purge, and the migration on an existing ledger."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import insert, inspect, text

from souverain.capture import CapturedItem, CaptureStore, prepare_capture
from souverain.capture.store import _row
from souverain.detect import Scanner
from souverain.ledger import Ledger
from souverain.ledger.engine import _alembic_config
from souverain.ledger.record import utcnow
from souverain.ledger.schema import captures as C
from tests.capture.helpers import chat, planted, spellings, use_case
from tests.ledger.helpers import record


def item(name: str = "support", n: int = 0, max_items: int = 200, **kw: object) -> CapturedItem:
    now = utcnow()
    values = {
        "use_case": name,
        "request_id": f"{name}-{n}",
        "kind": "completion",
        "payload": {"prompt": f"item {n}", "stream": False},
        "data_types": {},
        "captured_at": now,
        "expires_at": now + timedelta(days=30),
        "max_items": max_items,
        **kw,
    }
    return CapturedItem(**values)  # type: ignore[arg-type]


def raw_insert(ledger: Ledger, it: CapturedItem) -> None:
    """Insert bypassing add() (which refuses items already expired)."""
    with ledger.engine.begin() as conn:
        conn.execute(insert(C).values(**_row(it)))


def stored_bytes(url: str, ledger: Ledger) -> bytes:
    """Everything the database holds for captures: the SQLite files byte for byte; on
    PostgreSQL the captures table's text."""
    if "://" not in url:
        return b"".join(p.read_bytes() for p in Path(url).parent.glob(Path(url).name + "*"))
    with ledger.engine.connect() as conn:
        rows = conn.execute(text("SELECT captures::text FROM captures")).scalars().all()
    return "\n".join(rows).encode()


@pytest.mark.parametrize("action", ["pseudonymize", "keep-local", "block"])
def test_no_planted_identifier_is_stored(ledger_url: str, action: str) -> None:
    values = planted()
    uc = use_case(policy={"personal_data": action, "secrets": "allow"})
    scanner = Scanner()
    with Ledger.open(ledger_url) as ledger:
        store = CaptureStore(ledger)
        prepared = prepare_capture(
            uc,
            chat(values),
            scanner,
            request_id="req-1",
            backend="local",
            answer=f"Done for {values['email']}, card {values['card']}.",
            params={"max_tokens": 32},
        )
        assert asyncio.run(store.add(prepared)) is True
        raw = stored_bytes(ledger_url, ledger)
        assert b"ZEBRACANARY" in raw  # the check sees the stored text
        assert b"<EMAIL_1>" in raw
        for kind, value in values.items():
            for spelling in spellings(value):
                assert spelling.encode() not in raw, kind
        [back] = store.items("support")
        assert back.payload == prepared.payload and back.answer == prepared.answer  # type: ignore[union-attr]
        assert back.data_types["email"] == 2 and back.backend == "local"


def test_max_items_keeps_a_uniform_sample(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        store = CaptureStore(ledger)
        added = [item(n=n, max_items=10, sample_key=(n * 37 % 100) / 100) for n in range(60)]
        for it in added:
            store.add_sync(it)
        store.add_sync(item("other", max_items=10))
        kept = store.items("support")
        assert len(kept) == 10 == store.count("support")
        # bottom-k: the ten smallest keys drawn, from anywhere in the stream
        assert sorted(i.sample_key for i in kept) == sorted(i.sample_key for i in added)[:10]
        assert store.count("other") == 1 and store.count() == 11
        # a lower cap applies at the next add
        store.add_sync(item(n=99, max_items=4, sample_key=0.999))
        assert store.count("support") == 4


def test_concurrent_adds_respect_max_items(ledger_url: str) -> None:
    async def run(store: CaptureStore) -> list[bool]:
        return await asyncio.gather(*(store.add(item(n=n, max_items=5)) for n in range(40)))

    with Ledger.open(ledger_url) as ledger:
        store = CaptureStore(ledger)
        results = asyncio.run(run(store))
        assert store.count("support") == 5
        assert sum(results) >= 5
        assert asyncio.run(store.add(None)) is False


def test_retention_purge(ledger_url: str) -> None:
    now = utcnow()
    with Ledger.open(ledger_url) as ledger:
        store = CaptureStore(ledger)
        old = now - timedelta(days=40)
        for n in range(3, 5):
            store.add_sync(item(n=n))
        for n in range(3):  # captured 40 days ago with a 30-day retention: expired
            raw_insert(ledger, item(n=n, captured_at=old, expires_at=old + timedelta(days=30)))
        raw_insert(ledger, item("legal", n=9, captured_at=old, expires_at=old + timedelta(days=30)))
        assert store.count("support") == 2  # expired items are never returned
        assert [i.request_id for i in store.items("support")] == ["support-3", "support-4"]
        assert {r["use_case"]: r["expired"] for r in store.summary()} == {"legal": 1, "support": 3}
        assert store.purge(use_case="legal") == 1
        assert store.purge() == 3
        assert store.purge() == 0
        assert store.count("support") == 2
        # a retention shortened since: older_than
        assert store.purge(older_than=now + timedelta(seconds=1)) == 2
        assert store.count() == 0


def test_add_deletes_expired_items_of_its_use_case(ledger_url: str) -> None:
    old = utcnow() - timedelta(days=2)
    with Ledger.open(ledger_url) as ledger:
        store = CaptureStore(ledger)
        raw_insert(ledger, item(n=1, captured_at=old, expires_at=old + timedelta(days=1)))
        store.add_sync(item(n=2))
        assert [r["expired"] for r in store.summary()] == [0]
        assert store.add_sync(item(n=3, expires_at=old)) is False  # already expired: not stored


def test_purge_all(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        store = CaptureStore(ledger)
        for n in range(3):
            store.add_sync(item(n=n))
            store.add_sync(item("legal", n=n))
        assert store.purge(expired_only=False, use_case="legal") == 3
        assert store.count("legal") == 0 and store.count("support") == 3
        assert store.purge(expired_only=False) == 3
        assert store.count() == 0


def test_purged_text_is_gone_from_the_sqlite_files(tmp_path: Path) -> None:
    url = str(tmp_path / "ledger.db")
    with Ledger.open(url) as ledger:
        store = CaptureStore(ledger)
        store.add_sync(item(payload={"prompt": "PURGEMARKER " * 20}))
        store.add_sync(item(n=2))
        assert b"PURGEMARKER" in stored_bytes(url, ledger)
        assert store.purge(expired_only=False) == 2
        assert b"PURGEMARKER" not in stored_bytes(url, ledger)


def test_migration_applies_on_an_existing_ledger(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        for _ in range(3):
            ledger.write(record())
        with ledger.engine.connect() as conn:
            command.downgrade(_alembic_config(conn), "0002")
            conn.commit()
            assert "captures" not in inspect(conn).get_table_names()
    with Ledger.open(ledger_url) as ledger:  # an 0002 ledger with rows, upgraded at open
        with ledger.engine.connect() as conn:
            assert "captures" in inspect(conn).get_table_names()
        result = ledger.verify()
        assert result.ok and result.rows_checked == 3
        store = CaptureStore(ledger)
        assert store.add_sync(item()) is True
        assert ledger.verify().ok  # captures are not part of the chain


def test_payload_is_json_text(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        CaptureStore(ledger).add_sync(
            item(payload={"messages": [{"role": "user", "content": "é"}]})
        )
        with ledger.engine.connect() as conn:
            payload, data_types = conn.execute(
                text("SELECT payload, data_types FROM captures")
            ).one()
        assert json.loads(payload)["messages"][0]["content"] == "é"
        assert json.loads(data_types) == {}
