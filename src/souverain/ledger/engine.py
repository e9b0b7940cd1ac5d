"""Database URLs, engines and the schema upgrade run at open.

* ``None`` -> SQLite file ``ledger.db`` in :func:`souverain.paths.data_dir`.
* a plain path (no ``://``) -> SQLite file at that path.
* ``sqlite:///...`` as is; ``postgresql://`` / ``postgres://`` -> ``postgresql+psycopg://``
  (psycopg 3). libpq options pass through, e.g. ``?options=-csearch_path%3Dledger`` for a schema.

SQLite runs in WAL mode. ``synchronous`` defaults to ``NORMAL``: a committed row survives the
process being killed (the WAL is on disk); a power loss may lose the last few commits but never
corrupts the chain. Add ``?synchronous=full`` to the URL to fsync every commit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from souverain.ledger.schema import HEAD_REVISION, VERSION_TABLE
from souverain.paths import data_dir

_SYNC_MODES = ("off", "normal", "full", "extra")
#: Any constant: the advisory lock key that serialises schema upgrades on PostgreSQL.
_MIGRATION_LOCK = 0x50_55_56_4C_45_44  # "SOUVLED"


def normalise_url(url: str | None) -> str:
    """The SQLAlchemy URL for a ledger URL as a user writes it (see module docstring)."""
    if not url:
        return f"sqlite:///{data_dir() / 'ledger.db'}"
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


POSTGRES_EXTRA = "pip install 'souverain[postgres]'"


def driver_problem(url: str | None) -> str | None:
    """Why this ledger URL cannot be opened on this installation (a missing optional driver), or
    None. Checked before connecting, so the operator reads what to install, not a traceback."""
    import importlib.util

    sa_url = make_url(normalise_url(url))
    if sa_url.get_backend_name() == "postgresql":
        try:
            found = importlib.util.find_spec("psycopg") is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return (
                "a PostgreSQL ledger needs the 'postgres' extra (the psycopg driver), which is "
                f"not installed: {POSTGRES_EXTRA}"
            )
    return None


def display_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def create_ledger_engine(url: str, *, for_writes: bool, connect_timeout_s: int = 5) -> Engine:
    """An engine for the ledger. On SQLite, write transactions start with BEGIN IMMEDIATE (so a
    seal never upgrades a read lock and deadlocks) and reads with a deferred BEGIN."""
    sa_url = make_url(url)
    if sa_url.get_backend_name() != "sqlite":
        return create_engine(
            sa_url,
            pool_pre_ping=True,
            pool_size=2,
            max_overflow=8,
            connect_args={"connect_timeout": connect_timeout_s},
        )
    sync = str(sa_url.query.get("synchronous", "normal")).lower()
    if sync not in _SYNC_MODES:
        raise ValueError(f"synchronous={sync!r}: expected one of {', '.join(_SYNC_MODES)}")
    sa_url = sa_url.difference_update_query(["synchronous"])
    if sa_url.database and sa_url.database != ":memory:":
        Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(sa_url, connect_args={"check_same_thread": False, "timeout": 10})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={sync.upper()}")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    begin = "BEGIN IMMEDIATE" if for_writes else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


def _alembic_config(connection: Any) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
        except Exception:
            return None


def upgrade(engine: Engine) -> None:
    """Apply the shipped migrations up to head (no-op, and no Alembic import cost, when current).
    Concurrent openers are serialised: an advisory lock on PostgreSQL, the write lock on SQLite."""
    if current_revision(engine) == HEAD_REVISION:
        return
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
            conn.commit()
            try:
                command.upgrade(_alembic_config(conn), "head")
                conn.commit()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
                conn.commit()
        else:
            command.upgrade(_alembic_config(conn), "head")
            conn.commit()
