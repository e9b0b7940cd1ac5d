"""Open a ledger the way an auditor must: read-only, changing no byte, never migrating it.

SQLite is opened with ``mode=ro`` (``immutable`` when there is no ``-wal`` file; no
``journal_mode`` pragma; ``query_only`` on), so neither the database file nor its ``-wal``/``-shm``
files are written or created; PostgreSQL sessions run with
``default_transaction_read_only``. A database that holds no souverain ledger (no chain head, no
schema version) is :class:`NoLedgerHere`, never an empty, valid chain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from souverain.ledger.engine import display_url, driver_problem, normalise_url
from souverain.ledger.schema import VERSION_TABLE
from souverain.ledger.store import LedgerError, LedgerReader, LedgerUnavailable


class NoLedgerHere(LedgerError):
    """The database exists but holds no souverain ledger."""


def _readonly_engine(url: str) -> Engine:
    sa_url = make_url(url)
    if sa_url.get_backend_name() != "sqlite":
        engine = create_engine(sa_url, pool_size=1, connect_args={"connect_timeout": 5})

        @event.listens_for(engine, "connect")
        def _pg_readonly(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("SET default_transaction_read_only = on")
            cur.close()
            dbapi_conn.commit()

        return engine
    path = sa_url.database
    if not path or path == ":memory:" or not Path(path).is_file():
        raise NoLedgerHere(
            f"no ledger here: no ledger at {path or '(no file)'} (has `souverain serve` run with "
            "this config? check ledger.url)"
        )
    file = Path(path).resolve()
    # With no -wal file every committed row is in the main file: ``immutable`` reads it without
    # creating -wal/-shm (``mode=ro`` alone would create them). With a -wal file (a writer is
    # live, or one died), ``mode=ro`` reads through it and writes nothing.
    wal = file.with_name(file.name + "-wal")
    mode = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    uri = f"file:{quote(str(file))}?{mode}"
    engine = create_engine(
        "sqlite://", creator=lambda: _sqlite_ro(uri), connect_args={"check_same_thread": False}
    )
    return engine


def _sqlite_ro(uri: str) -> Any:
    import sqlite3

    conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=10)
    conn.execute("PRAGMA query_only=1")
    return conn


def open_readonly(url: str | None) -> LedgerReader:
    """A :class:`LedgerReader` over ``url`` that cannot write. Raises :class:`NoLedgerHere` when
    the database holds no souverain ledger, :class:`LedgerUnavailable` when it cannot be read."""
    sa_url = normalise_url(url)
    if problem := driver_problem(sa_url):
        raise LedgerUnavailable(problem)
    engine = _readonly_engine(sa_url)
    try:
        tables = set(inspect(engine).get_table_names())
    except SQLAlchemyError as exc:
        engine.dispose()
        raise LedgerUnavailable(f"cannot read the ledger at {display_url(sa_url)}: {exc}") from exc
    missing = {"ledger", "ledger_chain", VERSION_TABLE} - tables
    if missing:
        engine.dispose()
        raise NoLedgerHere(
            f"no ledger here: {display_url(sa_url)} has no souverain ledger "
            f"(missing table(s): {', '.join(sorted(missing))})"
        )
    return LedgerReader(sa_url, engine)
