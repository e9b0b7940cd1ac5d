"""Writer leases: which ledger writers are alive, judged on the database's clock.

Every process that writes to the ledger holds a lease, one row of ``ledger_writers`` (migration
0005): ``heartbeat_at`` is renewed every third of ``lease_s`` with the database's own time (so that
the hosts' clocks do not matter), and a writer closing its ledger gives the lease up at once
(``lease_s`` = 0). A pending row whose writer's lease has lapsed can never be completed: any live
writer seals it ``interrupted`` (:meth:`souverain.ledger.store.Ledger.mark_interrupted`), so a
replica killed with SIGKILL leaves no pending row for longer than its lease plus one renewal, even
on another host. Writers without a lease row (rows written before migration 0005) keep the rule of
:mod:`souverain.ledger.owners`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from souverain.ledger.record import as_utc
from souverain.ledger.schema import ledger as T
from souverain.ledger.schema import ledger_writers as W

log = logging.getLogger(__name__)

#: The longest lease a writer may hold: a dead replica's rows stay pending at most this long.
MAX_LEASE_S = 30.0


def db_now(conn: Connection) -> datetime:
    """The database's current time (UTC, aware)."""
    if conn.dialect.name == "sqlite":
        found = conn.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar_one()
        return datetime.fromisoformat(str(found)).replace(tzinfo=UTC)
    return as_utc(conn.execute(text("SELECT now()")).scalar_one())


@dataclass(frozen=True, slots=True)
class Leases:
    """The leases in the database at one instant of its clock."""

    live: frozenset[str]
    lapsed: frozenset[str]


def read_leases(conn: Connection) -> Leases:
    now = db_now(conn)
    live: set[str] = set()
    lapsed: set[str] = set()
    for wid, beat, lease_s in conn.execute(select(W.c.writer_id, W.c.heartbeat_at, W.c.lease_s)):
        (live if as_utc(beat) + timedelta(seconds=lease_s) >= now else lapsed).add(wid)
    return Leases(frozenset(live), frozenset(lapsed))


class WriterLease:
    """This process's lease, renewed by a daemon thread that also runs ``sweep`` (closing the
    pending rows of lapsed writers) after every renewal."""

    def __init__(
        self, engine: Engine, writer_id: str, lease_s: float, sweep: Callable[[], object]
    ) -> None:
        if not 0 < lease_s <= MAX_LEASE_S:
            raise ValueError(f"lease_s must be in (0, {MAX_LEASE_S:g}] seconds, got {lease_s}")
        self.engine = engine
        self.writer_id = writer_id
        self.lease_s = lease_s
        self._sweep = sweep
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._held = False

    def acquire(self) -> None:
        """Write (or renew) this writer's lease row; raises SQLAlchemyError if it cannot."""
        with self.engine.begin() as conn:
            now = db_now(conn)
            renewed = conn.execute(
                update(W)
                .where(W.c.writer_id == self.writer_id)
                .values(heartbeat_at=now, lease_s=self.lease_s)
            ).rowcount
            if not renewed:
                conn.execute(
                    insert(W).values(
                        writer_id=self.writer_id,
                        started_at=now,
                        heartbeat_at=now,
                        lease_s=self.lease_s,
                    )
                )
        self._held = True

    def start(self) -> None:
        self.acquire()
        self._thread = threading.Thread(
            target=self._run, name="souverain-ledger-lease", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        failing = False
        while not self._stop.wait(self.lease_s / 3):
            try:
                self.acquire()
                self._sweep()
                self._forget_lapsed()
            except Exception as exc:
                if not failing:
                    log.warning("ledger: cannot renew the writer lease: %s", exc)
                failing = True
            else:
                if failing:
                    log.warning("ledger: writer lease renewed again")
                failing = False

    def _forget_lapsed(self) -> None:
        """Delete the lease rows of lapsed writers that own no pending row any more."""
        with self.engine.begin() as conn:
            lapsed = read_leases(conn).lapsed
            if not lapsed:
                return
            owning = set(
                conn.execute(
                    select(T.c.writer_id)
                    .where(T.c.status == "pending", T.c.writer_id.in_(lapsed))
                    .distinct()
                ).scalars()
            )
            if gone := lapsed - owning:
                conn.execute(delete(W).where(W.c.writer_id.in_(gone)))

    def release(self) -> None:
        """Stop renewing and give the lease up (lapsed at once: any pending row this process
        could not finish is then closed by the next live writer)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if not self._held:
            return
        try:
            with self.engine.begin() as conn:
                conn.execute(update(W).where(W.c.writer_id == self.writer_id).values(lease_s=0.0))
        except SQLAlchemyError as exc:
            log.warning("ledger: cannot give the writer lease up: %s", exc)
