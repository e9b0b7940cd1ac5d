"""Tampering of each kind is detected and named: edited, deleted, inserted, reordered."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import insert, text

from souverain.ledger import Ledger
from souverain.ledger.record import row_hash
from souverain.ledger.schema import ledger as ledger_table
from tests.ledger.helpers import record


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    with Ledger.open(ledger_url) as opened:
        for _ in range(5):
            opened.write(record())
        assert opened.verify().ok
        yield opened


def sql(ledger: Ledger, statement: str, **params: object) -> None:
    with ledger.engine.begin() as conn:
        conn.execute(text(statement), params)


def row_at(ledger: Ledger, seq: int) -> dict:
    return next(r for r in ledger.rows() if r["seq"] == seq)


def move(ledger: Ledger, seq: int, to: int) -> None:
    sql(ledger, "UPDATE ledger SET seq = :to WHERE seq = :seq", seq=seq, to=to)


def forge(ledger: Ledger, seq: int, *, valid_hash: bool) -> None:
    """Insert a row at ``seq`` (shifting later rows up), linked to its predecessor."""
    for s in range(5, seq - 1, -1):
        move(ledger, s, s + 1)
    fake = {**row_at(ledger, seq - 1), "request_id": "forged", "cost_eur": 0.0}
    fake.pop("id")
    fake["prev_hash"] = fake["row_hash"]
    fake["row_hash"] = row_hash(fake) if valid_hash else "f" * 64
    fake["seq"] = seq
    fake["data_types"] = json.dumps(fake["data_types"])
    with ledger.engine.begin() as conn:
        conn.execute(insert(ledger_table).values(**fake))


def first(ledger: Ledger) -> tuple[str, int | None]:
    result = ledger.verify()
    assert not result.ok
    problem = result.first
    assert problem is not None
    return problem.kind, problem.seq


def test_intact_chain_verifies(ledger: Ledger) -> None:
    result = ledger.verify()
    assert result.ok and result.rows_checked == 5 and result.head_seq == 5
    assert result.head_hash == row_at(ledger, 5)["row_hash"]


def test_edited_field(ledger: Ledger) -> None:
    sql(ledger, "UPDATE ledger SET cost_eur = 0 WHERE seq = 3")
    assert first(ledger) == ("edited", 3)
    assert len(ledger.verify().problems) == 1  # later rows still link fine


def test_edited_and_rehashed(ledger: Ledger) -> None:
    row = {**row_at(ledger, 3), "api_key_name": "someone-else"}
    sql(
        ledger,
        "UPDATE ledger SET api_key_name = 'someone-else', row_hash = :h WHERE seq = 3",
        h=row_hash(row),
    )
    assert first(ledger) == ("edited", 3)


def test_deleted_row(ledger: Ledger) -> None:
    sql(ledger, "DELETE FROM ledger WHERE seq = 3")
    kind, seq = first(ledger)
    assert (kind, seq) == ("deleted", 4)
    assert "seq 3" in ledger.verify().first.detail  # type: ignore[union-attr]


def test_deleted_first_and_last_rows(ledger: Ledger) -> None:
    sql(ledger, "DELETE FROM ledger WHERE seq = 5")
    assert first(ledger) == ("deleted", 4)  # the rows after seq 4 are missing
    sql(ledger, "DELETE FROM ledger WHERE seq = 1")
    assert first(ledger) == ("deleted", 2)


@pytest.mark.parametrize("valid_hash", [True, False])
def test_inserted_row(ledger: Ledger, valid_hash: bool) -> None:
    forge(ledger, 3, valid_hash=valid_hash)
    assert first(ledger) == ("inserted", 3)


def test_inserted_after_head(ledger: Ledger) -> None:
    forge(ledger, 6, valid_hash=True)
    assert first(ledger) == ("inserted", 6)


def test_finalised_row_outside_the_chain(ledger: Ledger) -> None:
    sql(ledger, "UPDATE ledger SET seq = NULL WHERE seq = 5")
    sql(ledger, "UPDATE ledger_chain SET seq = 4, head_hash = :h", h=row_at(ledger, 4)["row_hash"])
    kind, _ = first(ledger)
    assert kind == "inserted"


def test_reordered_rows(ledger: Ledger) -> None:
    move(ledger, 2, 100)
    move(ledger, 3, 2)
    move(ledger, 100, 3)
    assert first(ledger) == ("reordered", 2)
    assert {p.kind for p in ledger.verify().problems} == {"reordered"}


def test_verify_reports_pending_rows_outside_the_chain(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as opened:
        opened.begin_sync(record(self_hosted=False))
        result = opened.verify()
        assert result.ok and result.pending == 1
