"""Captured items in the ledger database (table ``captures``, migration 0003).

Captures are workload samples for exit drills, not audit records: they are **not** part of the
hash chain, they are deleted (at expiry, on ``souverain capture purge``, or when the sample is
full), and :meth:`Ledger.verify` never looks at them. They live in the ledger database only so
that one database, one URL and one backup cover the gateway's state.

Sampling: at most ``capture.max_items`` live items per use case, a **uniform random sample** of
the requests captured (bottom-k sampling: each item draws a random ``sample_key``; the store keeps
the ``max_items`` items with the smallest keys). Unlike "keep the newest N", a burst of traffic in
the last hour does not push out the rest of the period. It needs no counter shared between
gateway workers: each :meth:`CaptureStore.add` inserts, then trims the use case back to
``max_items`` in the same transaction, serialised per use case (an advisory transaction lock on
PostgreSQL, the write lock on SQLite). A new item whose key would be trimmed at once is not
written at all. When items expire the sample refills from new traffic, so after an expiry it
leans towards recent requests until it is full again.

Retention: an item expires ``retention_days`` after it was captured (``expires_at``). Expired
items are never returned, are deleted by every ``add`` for their use case, and by
``souverain capture purge``. On SQLite deletes overwrite the freed pages (``secure_delete``) and
:meth:`CaptureStore.purge` checkpoints the WAL; on PostgreSQL the space of deleted rows is
reclaimed by (auto)vacuum.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, case, delete, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from souverain.capture.prepare import CapturedItem
from souverain.ledger import Ledger, LedgerUnavailable
from souverain.ledger.engine import display_url
from souverain.ledger.record import as_utc, utcnow
from souverain.ledger.schema import captures as C

log = logging.getLogger(__name__)


class CaptureStore:
    """Captured items of every use case, stored next to the ledger ``ledger``.

    Blocking methods raise :class:`~souverain.ledger.LedgerUnavailable` when the database
    fails; the async :meth:`add` never raises for that (capture is best effort)."""

    def __init__(self, ledger: Ledger) -> None:
        self.url = ledger.url
        self.engine: Engine = ledger.engine
        self.read_engine: Engine = ledger.read_engine
        self._sqlite = self.engine.dialect.name == "sqlite"

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                if self._sqlite:
                    conn.exec_driver_sql("PRAGMA secure_delete=ON")
                yield conn
        except SQLAlchemyError as exc:
            where = display_url(self.url)
            raise LedgerUnavailable(f"capture store at {where} unavailable: {exc}") from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.read_engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            where = display_url(self.url)
            raise LedgerUnavailable(f"capture store at {where} unavailable: {exc}") from exc

    # -- writing ---------------------------------------------------------------------------------
    async def add(self, item: CapturedItem | None) -> bool:
        """Store ``item`` (``None``: nothing to do) off the event loop. True when the item is in
        the sample after the call. A database failure is logged (never the content) and returns
        False: a capture must not turn a served request into an error."""
        if item is None:
            return False
        try:
            return await asyncio.to_thread(self.add_sync, item)
        except LedgerUnavailable as exc:
            log.warning("capture of request %s not stored: %s", item.request_id, exc)
            return False

    def add_sync(self, item: CapturedItem) -> bool:
        """Blocking :meth:`add`; raises :class:`LedgerUnavailable`."""
        if item.max_items is None or item.max_items < 1:
            raise ValueError("CapturedItem.max_items must be >= 1 to be stored")
        now = utcnow()
        if as_utc(item.expires_at) <= now:
            return False
        mine = C.c.use_case == item.use_case
        with self._write() as conn:
            if not self._sqlite:  # SQLite: BEGIN IMMEDIATE already serialises writers
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(item)})
            conn.execute(delete(C).where(mine, C.c.expires_at <= now))
            count, top = conn.execute(
                select(func.count(), func.max(C.c.sample_key)).where(mine)
            ).one()
            if count >= item.max_items and top is not None and item.sample_key >= top:
                _trim(conn, item.use_case, count - item.max_items)
                return False  # it would be trimmed at once: never written
            key = conn.execute(insert(C).values(**_row(item))).inserted_primary_key
            assert key is not None
            new_id = int(key[0])
            return new_id not in _trim(conn, item.use_case, count + 1 - item.max_items)

    def purge(
        self,
        *,
        expired_only: bool = True,
        use_case: str | None = None,
        older_than: datetime | None = None,
        now: datetime | None = None,
    ) -> int:
        """Delete captured items; return how many. By default the expired ones
        (``expires_at <= now``); with ``older_than`` also those captured before it (a retention
        shortened since they were captured); ``expired_only=False``: all of them. ``use_case``:
        only that use case's."""
        query = delete(C)
        if use_case is not None:
            query = query.where(C.c.use_case == use_case)
        if expired_only:
            due = C.c.expires_at <= as_utc(now or utcnow())
            if older_than is not None:
                due = due | (C.c.captured_at < as_utc(older_than))
            query = query.where(due)
        with self._write() as conn:
            deleted = conn.execute(query).rowcount or 0
        if self._sqlite and deleted:
            self._checkpoint()
        return int(deleted)

    def _checkpoint(self) -> None:
        """Copy the WAL into the database file and truncate it, so deleted items are gone from
        the WAL too (best effort: a concurrent reader can keep part of it)."""
        try:
            raw = self.engine.raw_connection()
            try:
                raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                raw.close()
        except Exception as exc:  # pragma: no cover - a busy WAL is not an error
            log.info("capture purge: WAL checkpoint skipped: %s", exc)

    # -- reading ---------------------------------------------------------------------------------
    def items(
        self, use_case: str, limit: int | None = None, *, now: datetime | None = None
    ) -> list[CapturedItem]:
        """The live (not expired) items of ``use_case``, oldest first."""
        query = (
            select(C)
            .where(C.c.use_case == use_case, C.c.expires_at > as_utc(now or utcnow()))
            .order_by(C.c.captured_at, C.c.id)
        )
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [_item(r._mapping) for r in conn.execute(query)]

    def count(self, use_case: str | None = None, *, now: datetime | None = None) -> int:
        """How many live items ``use_case`` (default: every use case) has."""
        query = select(func.count()).where(C.c.expires_at > as_utc(now or utcnow()))
        if use_case is not None:
            query = query.where(C.c.use_case == use_case)
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def summary(self, *, now: datetime | None = None) -> list[dict[str, Any]]:
        """Per use case: ``use_case``, ``items`` (live), ``expired`` (not purged yet),
        ``oldest`` and ``newest`` capture times (every stored item). No content."""
        live = case((C.c.expires_at > as_utc(now or utcnow()), 1), else_=0)
        query = (
            select(
                C.c.use_case,
                func.count().label("total"),
                func.sum(live).label("live"),
                func.min(C.c.captured_at).label("oldest"),
                func.max(C.c.captured_at).label("newest"),
            )
            .group_by(C.c.use_case)
            .order_by(C.c.use_case)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [
            {
                "use_case": r.use_case,
                "items": int(r.live or 0),
                "expired": int(r.total) - int(r.live or 0),
                "oldest": as_utc(r.oldest),
                "newest": as_utc(r.newest),
            }
            for r in rows
        ]


def _lock_key(item: CapturedItem) -> int:
    """A signed 64-bit advisory lock key for the item's use case: concurrent adds of one use case
    (several workers) are serialised, so the sample never exceeds ``max_items``."""
    digest = hashlib.sha256(f"souverain.capture:{item.use_case}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _trim(conn: Connection, use_case: str, excess: int) -> list[int]:
    """Delete the ``excess`` items of ``use_case`` with the largest sample keys; their ids."""
    if excess <= 0:
        return []
    doomed = [
        int(r.id)
        for r in conn.execute(
            select(C.c.id)
            .where(C.c.use_case == use_case)
            .order_by(C.c.sample_key.desc(), C.c.id.desc())
            .limit(excess)
        )
    ]
    conn.execute(delete(C).where(C.c.id.in_(doomed)))
    return doomed


def _row(item: CapturedItem) -> dict[str, Any]:
    return {
        "captured_at": as_utc(item.captured_at),
        "expires_at": as_utc(item.expires_at),
        "use_case": item.use_case,
        "request_id": item.request_id,
        "kind": item.kind,
        "backend": item.backend,
        "payload": json.dumps(item.payload, ensure_ascii=False, sort_keys=True),
        "answer": item.answer,
        "data_types": json.dumps(item.data_types, sort_keys=True),
        "sample_key": float(item.sample_key),
    }


def _item(row: Any) -> CapturedItem:
    return CapturedItem(
        id=int(row["id"]),
        use_case=row["use_case"],
        request_id=row["request_id"],
        kind=row["kind"],
        payload=json.loads(row["payload"]),
        data_types=json.loads(row["data_types"]),
        answer=row["answer"],
        backend=row["backend"],
        captured_at=as_utc(row["captured_at"]),
        expires_at=as_utc(row["expires_at"]),
        sample_key=float(row["sample_key"]),
    )


__all__ = ["CaptureStore"]
