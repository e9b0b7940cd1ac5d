"""The ledger suite runs against SQLite (a temp dir) and the real PostgreSQL (a fresh schema per
test, dropped afterwards). PostgreSQL missing: skipped with the reason, except when CI is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

PG_HOST = os.environ.get("SOUVERAIN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_admin():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(PG_HOST, connect_timeout=3, autocommit=True)


def _pg_unreachable() -> str | None:
    try:
        with _pg_admin():
            return None
    except Exception as exc:
        return f"PostgreSQL at {PG_HOST} unreachable: {exc}"


@pytest.fixture(scope="session")
def pg_available() -> None:
    reason = _pg_unreachable()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(reason + " (CI is set: PostgreSQL tests must run)")
    pytest.skip(reason)


@pytest.fixture
def pg_url(pg_available: None) -> Iterator[str]:
    schema = f"souverain_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_HOST}?options=-csearch_path%3D{schema}"
    finally:
        with _pg_admin() as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return str(tmp_path / "ledger.db")
    return request.getfixturevalue("pg_url")
