"""Finding ledger rows by what they say: use case, decision, status, kind, period, request id.

:meth:`Ledger.rows` walks the chain (reports, verification, export); this module answers "the
latest rows that match" for people looking for something (the web console's ledger page), and
gives the same filter to an export of everything that matches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select
from sqlalchemy.exc import SQLAlchemyError

from souverain.ledger.record import as_utc
from souverain.ledger.schema import ledger as T
from souverain.ledger.store import LedgerUnavailable, _readable

if TYPE_CHECKING:
    from souverain.ledger.store import Ledger


@dataclass(frozen=True, slots=True)
class RowFilter:
    """Every field left ``None`` matches everything; ``until`` is exclusive."""

    since: datetime | None = None
    until: datetime | None = None
    kinds: tuple[str, ...] | None = None
    use_case: str | None = None
    decision: str | None = None
    status: str | None = None
    #: a request id, or the start of one
    request_id: str | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.since is not None:
            query = query.where(T.c.ts >= as_utc(self.since))
        if self.until is not None:
            query = query.where(T.c.ts < as_utc(self.until))
        if self.kinds is not None:
            query = query.where(T.c.kind.in_(self.kinds))
        for column, value in (
            (T.c.use_case, self.use_case),
            (T.c.decision, self.decision),
            (T.c.status, self.status),
        ):
            if value is not None:
                query = query.where(column == value)
        if self.request_id:
            query = query.where(T.c.request_id.startswith(self.request_id, autoescape=True))
        return query


def latest(ledger: Ledger, flt: RowFilter, limit: int = 50) -> list[dict[str, Any]]:
    """The ``limit`` newest rows (by time) that match ``flt``, newest first."""
    query = flt.apply(select(T)).order_by(T.c.ts.desc(), T.c.id.desc()).limit(limit)
    try:
        with ledger.read_engine.connect() as conn:
            return [_readable(r) for r in conn.execute(query)]
    except SQLAlchemyError as exc:
        raise LedgerUnavailable(f"ledger unavailable: {exc}") from exc


def matching(ledger: Ledger, flt: RowFilter) -> Iterator[dict[str, Any]]:
    """Every row that matches ``flt``, in chain order (pending rows last), for export."""
    query = flt.apply(select(T)).order_by(T.c.seq.is_(None), T.c.seq, T.c.id)
    try:
        with ledger.read_engine.connect() as conn:
            for found in conn.execution_options(yield_per=1000).execute(query):
                yield _readable(found)
    except SQLAlchemyError as exc:
        raise LedgerUnavailable(f"ledger unavailable: {exc}") from exc
