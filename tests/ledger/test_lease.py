"""Writer leases (issue #12 item 2): a live writer closes the pending rows of any writer whose
lease has lapsed, on the database's clock, while it runs -- not only at the next start, and also
for writers on other hosts, whose processes it cannot see."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from souverain.config.loader import ConfigError, parse_config
from souverain.ledger import Ledger
from souverain.ledger.lease import MAX_LEASE_S, db_now, read_leases
from souverain.ledger.schema import ledger_writers as W
from tests.ledger.helpers import insert_pending, record


def _lease(ledger: Ledger, writer: str, beat_age_s: float, lease_s: float) -> None:
    with ledger.engine.begin() as conn:
        beat = db_now(conn) - timedelta(seconds=beat_age_s)
        conn.execute(
            insert(W).values(writer_id=writer, started_at=beat, heartbeat_at=beat, lease_s=lease_s)
        )


def _statuses(ledger: Ledger) -> dict[str, str]:
    return {r["request_id"]: r["status"] for r in ledger.rows()}


def _wait_for(cond, timeout_s: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_a_live_writer_sweeps_rows_of_lapsed_leases_on_other_hosts(ledger_url: str) -> None:
    with Ledger.open(ledger_url, lease_s=0.6) as ledger:
        # two writers on another host (no pid to check), both younger than stale_after_s (1 h):
        # before leases, both rows would have stayed pending for an hour
        _lease(ledger, "elsewhere:1:dead", beat_age_s=10, lease_s=5)
        _lease(ledger, "elsewhere:2:live", beat_age_s=0, lease_s=30)
        insert_pending(ledger, "of-dead", "elsewhere:1:dead", age_s=60)
        insert_pending(ledger, "of-live", "elsewhere:2:live", age_s=60)
        ledger.begin_sync(record(request_id="mine", self_hosted=False))
        assert _wait_for(lambda: _statuses(ledger)["of-dead"] == "interrupted")
        time.sleep(0.5)  # a few more sweeps: the live ones stay
        assert _statuses(ledger) == {
            "of-dead": "interrupted",
            "of-live": "pending",
            "mine": "pending",
        }
        (row,) = [r for r in ledger.rows() if r["request_id"] == "of-dead"]
        assert row["error_code"] == "interrupted"

        # the lapsed lease, owning no pending row any more, is forgotten; the live one is kept
        def writers() -> set[str]:
            with ledger.read_engine.connect() as conn:
                return set(conn.execute(select(W.c.writer_id)).scalars())

        assert _wait_for(lambda: "elsewhere:1:dead" not in writers())
        assert {"elsewhere:2:live", ledger.writer_id} <= writers()
        ledger.write(record(request_id="mine", self_hosted=False))
        assert ledger.verify().ok


def test_own_lease_is_renewed_on_the_database_clock(ledger_url: str) -> None:
    with Ledger.open(ledger_url, lease_s=0.6) as ledger:
        with ledger.engine.connect() as conn:
            first = conn.execute(
                select(W.c.heartbeat_at).where(W.c.writer_id == ledger.writer_id)
            ).scalar_one()

        def renewed() -> bool:
            with ledger.engine.connect() as conn:
                beat = conn.execute(
                    select(W.c.heartbeat_at).where(W.c.writer_id == ledger.writer_id)
                ).scalar_one()
                return beat > first and ledger.writer_id in read_leases(conn).live

        assert _wait_for(renewed, 3.0)


CLOSES_WITH_A_PENDING_ROW = """
import sys, time
from souverain.ledger import Ledger, LedgerRecord
ledger = Ledger.open(sys.argv[1])
ledger.begin_sync(LedgerRecord("left-open", backend="mistral", self_hosted=False, status="pending"))
ledger.close()  # gives the lease up: the row can never be completed by this process
print("closed", flush=True)
time.sleep(30)  # still running: the pid rule alone would keep the row pending
"""


def test_a_closed_writers_pending_row_is_swept_while_it_still_runs(ledger_url: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CLOSES_WITH_A_PENDING_ROW, ledger_url],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "closed"
        with Ledger.open(ledger_url, lease_s=0.6) as ledger:
            assert _wait_for(lambda: _statuses(ledger) == {"left-open": "interrupted"})
            assert child.poll() is None  # swept by the lease, not because the process died
            assert ledger.verify().ok
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize("lease", [0, -1, MAX_LEASE_S + 1])
def test_lease_over_30_s_or_not_positive_is_a_config_error(lease: float) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"ledger": {"lease_s": lease}}, "gw.yaml")
    assert "ledger.lease_s" in str(info.value) and "gw.yaml" in str(info.value)
    with pytest.raises(ValueError, match="lease_s"):
        Ledger.open("sqlite:///:memory:", lease_s=lease)
