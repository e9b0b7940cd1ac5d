"""The ledger: one row per request, written through one writer thread, sealed into a hash chain.

Writes (``begin``, ``finish``/``write``, interrupted marking) go through a queue to one dedicated
thread per :class:`Ledger`. The thread takes everything queued (up to ``batch_max``) and commits
it in one transaction -- group commit -- then wakes each caller. So every caller returns only
after its row is committed (never buffered in memory), the event loop never blocks, and a slow
commit delays the requests queued behind it by one commit, not one commit each.

Sealing (see docs/ledger.md): a row gets ``seq``, ``prev_hash`` and ``row_hash`` in the same
transaction that gives it its final status. The chain head (``ledger_chain``, one row) is locked
first -- ``SELECT ... FOR UPDATE`` on PostgreSQL, the database write lock (``BEGIN IMMEDIATE``) on
SQLite -- so writers in several processes extend one chain.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import math
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, case, func, select
from sqlalchemy.exc import SQLAlchemyError

from souverain.ledger import owners
from souverain.ledger.engine import (
    create_ledger_engine,
    display_url,
    driver_problem,
    normalise_url,
    upgrade,
)
from souverain.ledger.lease import MAX_LEASE_S, Leases, WriterLease, read_leases
from souverain.ledger.record import (
    FINAL_STATUSES,
    LedgerRecord,
    as_utc,
    utcnow,
    validate,
)
from souverain.ledger.schema import ledger as T
from souverain.ledger.schema import ledger_chain as H
from souverain.ledger.writer import OpKind, RowConflict, Writer

log = logging.getLogger(__name__)
#: The columns :meth:`Ledger.spend` can group by (each has an index with ``ts``).
_SPEND_COLUMNS = ("api_key_name", "use_case")
#: "never stale" for owners.is_alive (a writer whose lease is current is not judged by age)
_FOREVER_S = 100 * 365 * 86400.0


class LedgerError(Exception):
    """A ledger operation failed."""


class LedgerUnavailable(LedgerError):
    """The ledger cannot be written (or read): the gateway answers 503 ``ledger_unavailable``."""


def _readable(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    out["data_types"] = json.loads(out["data_types"]) if out["data_types"] else {}
    for name in ("ts", "created_at", "sealed_at"):
        if out.get(name) is not None:
            out[name] = as_utc(out[name])
    return out


class LedgerReader:
    """Reading a ledger: rows, spend, head, verify. :class:`Ledger` adds the writer; an auditor's
    read-only view (:func:`souverain.ledger.readonly.open_readonly`) is a bare reader."""

    def __init__(self, url: str, read_engine: Engine) -> None:
        self.url = url
        self.read_engine = read_engine

    def close(self) -> None:
        self.read_engine.dispose()

    def __enter__(self) -> LedgerReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------------
    def rows(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        kind: str | list[str] | None = None,
        *,
        statuses: tuple[str, ...] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Rows in chain order (pending rows last), as dicts; ``until`` is exclusive."""
        query = select(T)
        if since is not None:
            query = query.where(T.c.ts >= as_utc(since))
        if until is not None:
            query = query.where(T.c.ts < as_utc(until))
        if kind is not None:
            query = query.where(T.c.kind.in_([kind] if isinstance(kind, str) else kind))
        if statuses is not None:
            query = query.where(T.c.status.in_(statuses))
        query = query.order_by(T.c.seq.is_(None), T.c.seq, T.c.id)
        try:
            with self.read_engine.connect() as conn:
                for found in conn.execution_options(yield_per=1000).execute(query):
                    yield _readable(found)
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"ledger unavailable: {exc}") from exc

    def spend(
        self,
        by: str,
        name: str,
        since: Sequence[datetime],
        *,
        kind: str = "request",
    ) -> tuple[float, ...]:
        """Sum of ``cost_eur`` of the rows of ``kind`` whose ``by`` column (``api_key_name`` or
        ``use_case``) is ``name``, once for each start time in ``since`` (``ts >= start``), in
        one indexed query. Every status counts; a NULL cost (pending, unpriced) counts as 0.
        Blocking: call it off the event loop. See :mod:`souverain.ledger.budgets`."""
        if by not in _SPEND_COLUMNS:
            raise ValueError(f"by={by!r}: expected one of {', '.join(_SPEND_COLUMNS)}")
        if not since:
            return ()
        starts = [as_utc(s) for s in since]
        cost = func.coalesce(T.c.cost_eur, 0.0)
        query = select(
            *(func.coalesce(func.sum(case((T.c.ts >= s, cost), else_=0.0)), 0.0) for s in starts)
        ).where(T.c[by] == name, T.c.kind == kind, T.c.ts >= min(starts))
        try:
            with self.read_engine.connect() as conn:
                found = conn.execute(query).one()
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"ledger unavailable: {exc}") from exc
        return tuple(float(v) for v in found)

    def sealed_between(self, after: int, upto: int) -> Iterator[dict[str, Any]]:
        """Sealed rows with ``after < seq <= upto``, in seq order, as dicts."""
        query = select(T).where(T.c.seq > after, T.c.seq <= upto).order_by(T.c.seq)
        try:
            with self.read_engine.connect() as conn:
                for found in conn.execution_options(yield_per=1000).execute(query):
                    yield _readable(found)
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"ledger unavailable: {exc}") from exc

    def head(self) -> tuple[int, str]:
        """The chain head: (seq of the last sealed row, its hash). Anchor it elsewhere."""
        with self.read_engine.connect() as conn:
            found = conn.execute(select(H.c.seq, H.c.head_hash).where(H.c.id == 1)).one()
        return int(found.seq), str(found.head_hash)

    def verify(self) -> Any:
        """Check the whole chain; see :func:`souverain.ledger.verify.verify`."""
        from souverain.ledger.verify import verify

        return verify(self)


class Ledger(LedgerReader):
    """The request ledger. Build with :meth:`open`; one instance per process is enough."""

    def __init__(
        self,
        url: str,
        engine: Engine,
        read_engine: Engine,
        *,
        stale_after_s: float,
        batch_max: int,
        timeout_s: float | None = None,
        lease_s: float = 30.0,
    ) -> None:
        super().__init__(url, read_engine)
        self.engine = engine
        self.stale_after_s = stale_after_s
        self.batch_max = batch_max
        #: an awaited write not committed within this raises LedgerUnavailable (None: no limit)
        self.timeout_s = timeout_s
        self.writer_id = owners.writer_id()
        self._writer = Writer(
            engine,
            self.writer_id,
            batch_max,
            statement_timeout_s=timeout_s,
            map_error=lambda exc: _as_ledger_error(exc, url),
        )
        self.lease = WriterLease(engine, self.writer_id, lease_s, self.mark_interrupted)
        self._closed = False

    # -- opening and closing ---------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        stale_after_s: float = 3600.0,
        batch_max: int = 256,
        timeout_s: float | None = None,
        lease_s: float = 30.0,
    ) -> Ledger:
        """Open (creating if needed) the ledger at ``url``: apply migrations, take this
        process's writer lease, then mark the pending rows of dead writers ``interrupted`` (see
        :mod:`souverain.ledger.owners` and :mod:`souverain.ledger.lease`; the lease's thread
        repeats that sweep every ``lease_s / 3`` seconds while the ledger is open).
        ``timeout_s``: how long :meth:`begin`/:meth:`finish` wait (the gateway's
        ``ledger.timeout_ms``); None waits as long as the database does (CLIs)."""
        if not 0 < lease_s <= MAX_LEASE_S:
            raise ValueError(f"lease_s must be in (0, {MAX_LEASE_S:g}] seconds, got {lease_s}")
        sa_url = normalise_url(url)
        if problem := driver_problem(sa_url):
            raise LedgerUnavailable(problem)
        # PostgreSQL down: fail within the request timeout (libpq counts whole seconds)
        connect_s = 5 if timeout_s is None else max(1, min(5, math.ceil(timeout_s)))
        try:
            engine = create_ledger_engine(sa_url, for_writes=True, connect_timeout_s=connect_s)
            read_engine = (
                create_ledger_engine(sa_url, for_writes=False, connect_timeout_s=connect_s)
                if engine.dialect.name == "sqlite"
                else engine
            )
            upgrade(engine)
        except (SQLAlchemyError, OSError) as exc:
            where = display_url(sa_url)
            raise LedgerUnavailable(f"cannot open the ledger at {where}: {exc}") from exc
        self = cls(
            sa_url,
            engine,
            read_engine,
            stale_after_s=stale_after_s,
            batch_max=batch_max,
            timeout_s=timeout_s,
            lease_s=lease_s,
        )
        try:
            self.lease.acquire()
            marked = self.mark_interrupted()
        except SQLAlchemyError as exc:
            self.close()
            raise LedgerUnavailable(f"ledger unavailable: {exc}") from exc
        except LedgerError:
            self.close()
            raise
        self.lease.start()
        if marked:
            log.warning("ledger: marked %d row(s) of dead writers as interrupted", marked)
        return self

    def close(self) -> None:
        """Finish queued writes, stop the writer thread and release connections."""
        if self._closed:
            return
        self._closed = True
        self.lease.release()
        self._writer.close()
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the write API ---------------------------------------------------------------------------
    async def begin(self, rec: LedgerRecord) -> None:
        """Write-ahead for egress: commit a ``pending`` row before any byte leaves for a backend
        that is not self-hosted. Complete it later with :meth:`finish`."""
        await self._wait("begin", rec)

    async def finish(self, rec: LedgerRecord) -> None:
        """Complete the row :meth:`begin` wrote for ``rec.request_id``, or write a new one, and
        seal it. Returns once committed. ``rec.status`` must be final (not ``pending``)."""
        await self._wait("finish", rec)

    async def _wait(self, kind: OpKind, rec: LedgerRecord) -> None:
        """Queue a write and await it for :attr:`timeout_s` at most. A write still queued then
        is withdrawn (it will never be committed) and LedgerUnavailable raised; one the writer
        already runs is bounded by the database's own timeouts (busy / statement timeout), so
        that the caller never learns "unavailable" for a row that is committed after all. A
        caller cancelled meanwhile (its client went away) does not withdraw the write."""
        self._check(kind, rec)
        op, waiter = self._writer.submit_waiter(kind, rec, rec.request_id)
        timer = None
        if self.timeout_s is not None and not waiter.done():
            timeout_s = self.timeout_s

            def expire() -> None:
                if self._writer.withdraw(op) and not waiter.done():
                    waiter.set_exception(
                        LedgerUnavailable(
                            f"ledger at {display_url(self.url)}: no commit within "
                            f"{timeout_s * 1000:.0f} ms"
                        )
                    )

            timer = waiter.get_loop().call_later(timeout_s, expire)
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()

    def begin_sync(self, rec: LedgerRecord) -> None:
        self._submit("begin", rec).result()

    def write(self, rec: LedgerRecord) -> None:
        """Synchronous :meth:`finish` (CLIs, benchmarks, tests)."""
        self._submit("finish", rec).result()

    def mark_interrupted(self) -> int:
        """Seal as ``interrupted`` every pending row whose writer is gone (its lease lapsed, or
        the rule of :mod:`souverain.ledger.owners` for writers without a lease); return how
        many."""
        now = utcnow()
        try:
            with self.read_engine.connect() as conn:
                rows = conn.execute(
                    select(T.c.request_id, T.c.writer_id, T.c.created_at).where(
                        T.c.status == "pending"
                    )
                ).all()
                leases = read_leases(conn) if rows else Leases(frozenset(), frozenset())
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"ledger unavailable: {exc}") from exc
        dead = [
            r.request_id for r in rows if not self._alive(r.writer_id, r.created_at, now, leases)
        ]
        futures = [self._submit_op("interrupt", None, rid) for rid in dead]
        for fut in futures:
            fut.result()
        return len(dead)

    def _alive(self, wid: str, created_at: datetime, now: datetime, leases: Leases) -> bool:
        if wid in leases.live:  # renewing: alive unless its pid is gone (same host)
            return owners.is_alive(wid, as_utc(created_at), now, _FOREVER_S)
        if wid in leases.lapsed:
            return wid == self.writer_id  # ours lapsed only if our renewals failed: still ours
        return owners.is_alive(wid, as_utc(created_at), now, self.stale_after_s)

    def _submit(self, kind: OpKind, rec: LedgerRecord) -> concurrent.futures.Future[Any]:
        self._check(kind, rec)
        return self._submit_op(kind, rec, rec.request_id)

    @staticmethod
    def _check(kind: OpKind, rec: LedgerRecord) -> None:
        validate(rec)
        if kind == "finish" and rec.status == "pending":
            raise ValueError("finish() needs a final status: completed, refused, failed")

    def _submit_op(
        self, kind: OpKind, rec: LedgerRecord | None, request_id: str
    ) -> concurrent.futures.Future[Any]:
        """Queue one write; the returned future raises :class:`LedgerError` subclasses only
        (the writer maps its errors)."""
        return self._writer.submit(kind, rec, request_id)


def _as_ledger_error(exc: BaseException, url: str) -> LedgerError:
    if isinstance(exc, LedgerError):
        return exc
    if isinstance(exc, RowConflict):
        err: LedgerError = LedgerError(f"ledger rejected the row: {exc}")
    elif isinstance(exc, SQLAlchemyError | OSError) or type(exc).__module__.startswith(
        ("sqlite3", "psycopg")
    ):
        err = LedgerUnavailable(f"ledger at {display_url(url)} unavailable: {exc}")
    else:
        err = LedgerError(f"ledger write failed: {exc!r}")
    err.__cause__ = exc
    return err


__all__ = ["FINAL_STATUSES", "Ledger", "LedgerError", "LedgerReader", "LedgerUnavailable"]
