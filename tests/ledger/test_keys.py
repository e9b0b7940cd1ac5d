"""The runtime key table: only hashes stored, rotate with a grace period, revoke, expiry, and a
fingerprint that changes with every change (SQLite and the real PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from souverain.ledger.keys import KeyStore, KeyStoreError, RuntimeKeys, hash_key
from souverain.ledger.schema import api_keys


@pytest.fixture
def store(ledger_url: str):  # type: ignore[no-untyped-def]
    s = KeyStore.open(ledger_url)
    yield s
    s.close()


def test_only_the_hash_is_stored(store: KeyStore) -> None:
    secret = store.create("team-a", ["docs", "docs", "research"], budget_eur_month=2.5)
    assert secret.startswith("sk-sov-") and len(secret) >= 40
    with store.engine.connect() as conn:
        row = conn.execute(select(api_keys)).one()
    assert secret not in repr(tuple(row))
    assert row.sha256 == hash_key(secret)
    (key,) = store.all_keys()
    assert key.use_cases == ("docs", "research")
    assert key.budget_eur_month == 2.5
    public = key.public(datetime.now(UTC))
    assert public["status"] == "active" and "sha256" not in public
    assert secret not in repr(public)


def test_names_stay_taken_after_revocation(store: KeyStore) -> None:
    store.create("team-a", ["*"])
    with pytest.raises(KeyStoreError, match="exists already"):
        store.create("team-a", ["*"])
    store.revoke("team-a")
    with pytest.raises(KeyStoreError, match="exists already"):
        store.create("team-a", ["*"])
    with pytest.raises(KeyStoreError, match="revoked already"):
        store.rotate("team-a")
    with pytest.raises(KeyStoreError, match="no runtime key named 'ghost'"):
        store.revoke("ghost")
    with pytest.raises(KeyStoreError, match="at least one use case"):
        store.create("empty", [])


def test_every_change_moves_the_fingerprint(store: KeyStore) -> None:
    seen = {store.fingerprint()}
    store.create("a", ["*"])
    seen.add(store.fingerprint())
    store.create("b", ["*"])
    seen.add(store.fingerprint())
    store.rotate("a")
    seen.add(store.fingerprint())
    store.rotate("a", grace=timedelta(0))
    seen.add(store.fingerprint())
    store.revoke("b")
    seen.add(store.fingerprint())
    assert len(seen) == 6
    assert store.credentials()[0] == store.fingerprint()


def test_rotation_grace_revocation_and_expiry(store: KeyStore) -> None:
    now = datetime.now(UTC)
    keys = RuntimeKeys()
    old = store.create("a", ["docs"], admin=True, expires_at=now + timedelta(hours=2))
    keys.bind(store)
    assert keys.exist and keys.has_admin()
    assert keys.lookup(hash_key(old)).name == "a"  # type: ignore[union-attr]
    assert keys.lookup(hash_key("sk-sov-guess")) is None
    # expiry is checked at each lookup, no poll needed
    assert keys.lookup(hash_key(old), now + timedelta(hours=3)) is None

    new = store.rotate("a", grace=timedelta(minutes=30))
    assert keys.refresh() is True
    assert keys.refresh() is False  # nothing changed since
    assert keys.lookup(hash_key(new)) is not None
    assert keys.lookup(hash_key(old)) is not None  # in its grace period
    assert keys.lookup(hash_key(old), now + timedelta(minutes=31)) is None
    assert keys.lookup(hash_key(new), now + timedelta(minutes=31)) is not None

    newer = store.rotate("a", grace=timedelta(minutes=30))
    keys.refresh()
    assert keys.lookup(hash_key(old)) is None  # a second rotation ends the first grace
    assert keys.lookup(hash_key(new)) is not None
    assert keys.lookup(hash_key(newer)) is not None

    store.revoke("a")
    keys.refresh()
    assert keys.lookup(hash_key(new)) is None and keys.lookup(hash_key(newer)) is None
    assert keys.exist  # a revoked key still means: requests need a key
    assert not keys.has_admin()


def test_grace_never_outlives_the_key(store: KeyStore) -> None:
    now = datetime.now(UTC)
    old = store.create("a", ["*"], expires_at=now + timedelta(minutes=5))
    store.rotate("a", grace=timedelta(hours=1))
    keys = RuntimeKeys()
    keys.bind(store)
    assert keys.lookup(hash_key(old)) is not None
    assert keys.lookup(hash_key(old), now + timedelta(minutes=6)) is None


def test_an_unreadable_table_keeps_the_last_snapshot(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = KeyStore.open(str(tmp_path / "l.db"))
    secret = store.create("a", ["*"])
    keys = RuntimeKeys()
    keys.bind(store)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE api_keys")
    assert keys.refresh() is False
    assert keys.lookup(hash_key(secret)) is not None
    store.close()
