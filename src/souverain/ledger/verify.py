"""Check the hash chain and say what was done to it.

Walking the sealed rows in ``seq`` order, each row must (1) hash to its ``row_hash`` and (2) name
the previous row's hash as its ``prev_hash``; ``seq`` must count up from 1 and the chain head must
name the last row. When a check fails, the first problem is classified:

* ``inserted`` -- the next row links over this one to the row before it, or a finalised row is
  outside the chain (no ``seq``), or rows lie beyond the recorded head;
* ``edited`` -- the row no longer hashes to its ``row_hash`` (its link is intact), or only its
  ``seq`` changed;
* ``reordered`` -- the row's ``prev_hash`` names a row that comes *after* it;
* ``deleted`` -- the row's ``prev_hash`` names no row in the ledger (the rows in between are
  gone), or the head names rows past the last one.

The walk then resynchronises on the row's own hash, so later independent problems are reported too.
What this cannot catch: someone who rewrites *every* row from the tampered one onward and the head
(SHA-256 is public). Record the head hash elsewhere (``souverain ledger verify`` prints it) to
catch that too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select

from souverain.ledger.record import FINAL_STATUSES, GENESIS_HASH, row_hash
from souverain.ledger.schema import ledger as T

if TYPE_CHECKING:
    from souverain.ledger.store import LedgerReader as Ledger

ProblemKind = Literal["edited", "deleted", "inserted", "reordered"]


@dataclass(frozen=True, slots=True)
class Problem:
    kind: ProblemKind
    seq: int | None
    request_id: str | None
    row_id: int | None
    detail: str

    def __str__(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else f"row id {self.row_id}"
        return f"{self.kind}: {where} (request {self.request_id}): {self.detail}"


@dataclass(slots=True)
class VerifyResult:
    rows_checked: int = 0
    pending: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None


def _sealed(ledger: Ledger) -> Iterator[dict[str, Any]]:
    return ledger.rows(statuses=FINAL_STATUSES)


def verify(ledger: Ledger, max_problems: int = 100) -> VerifyResult:
    result = VerifyResult()
    result.head_seq, result.head_hash = ledger.head()
    with ledger.read_engine.connect() as conn:
        position = {
            h: s for s, h in conn.execute(select(T.c.seq, T.c.row_hash).where(T.c.seq.is_not(None)))
        }
        result.pending = len(conn.execute(select(T.c.id).where(T.c.status == "pending")).all())

    def report(kind: ProblemKind, row: dict[str, Any], detail: str) -> None:
        if len(result.problems) < max_problems:
            result.problems.append(
                Problem(kind, row.get("seq"), row.get("request_id"), row.get("id"), detail)
            )

    prev_hash, expected_seq = GENESIS_HASH, 1
    last: dict[str, Any] | None = None
    forward: set[str] = set()  # hashes that a row named as prev_hash before they appeared
    moved: set[str] = set()  # hashes of rows reported as reordered
    rows = _sealed(ledger)
    row = next(rows, None)
    while row is not None:
        following = next(rows, None)
        if row["seq"] is None:
            report("inserted", row, f"status {row['status']!r} but not sealed into the chain")
            row = following
            continue
        result.rows_checked += 1
        content_ok = row_hash(row) == row["row_hash"]
        link_ok = row["prev_hash"] == prev_hash
        linked_at = position.get(row["prev_hash"])
        if content_ok and link_ok:
            if row["seq"] != expected_seq:
                report("edited", row, f"seq changed (expected {expected_seq})")
        elif content_ok and row["prev_hash"] in moved:
            pass  # follows a row already reported as moved: the same reordering
        elif row["row_hash"] in forward:
            moved.add(row["row_hash"])
            report("reordered", row, "a row before it names it as its predecessor")
        elif linked_at is not None and linked_at > row["seq"]:
            forward.add(row["prev_hash"])
            moved.add(row["row_hash"])
            report("reordered", row, f"links to seq {linked_at}, which comes after it")
        elif following is not None and following["prev_hash"] == prev_hash:
            report("inserted", row, "not part of the chain: the next row links over it")
            expected_seq = following["seq"] or expected_seq
            row = following
            continue
        elif link_ok:
            report("edited", row, "content does not match its hash")
        elif linked_at is not None and last is not None:
            report("inserted", last, f"not part of the chain: seq {row['seq']} links over it")
        elif not content_ok:
            report("edited", row, "content does not match its hash, and its link is broken")
        elif last is not None and row["seq"] == expected_seq:
            report("edited", last, "its hash was recomputed: the next row names another hash")
        else:
            missing = f"seq {expected_seq}" + (
                f"..{row['seq'] - 1}" if row["seq"] - 1 > expected_seq else ""
            )
            report("deleted", row, f"the row(s) before it are missing ({missing})")
        prev_hash, expected_seq, last = row["row_hash"], row["seq"] + 1, row
        row = following
    if last is None and result.head_seq > 0:
        report("deleted", {"seq": result.head_seq}, "the head names rows but the ledger has none")
    elif last is not None and last["seq"] < result.head_seq:
        report("deleted", last, f"the rows after it are missing (head is seq {result.head_seq})")
    elif last is not None and last["seq"] > result.head_seq:
        report("inserted", last, f"lies beyond the recorded head (seq {result.head_seq})")
    elif last is not None and last["row_hash"] != result.head_hash:
        report("edited", last, "the last row's hash differs from the recorded head")
    return result
