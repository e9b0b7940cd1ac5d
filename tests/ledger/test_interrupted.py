"""A request whose process died leaves its pending row; the next open marks it interrupted."""

from __future__ import annotations

import subprocess
import sys

from souverain.ledger import Ledger
from souverain.ledger.owners import hostname
from tests.ledger.helpers import insert_pending, record

KILLED_MID_REQUEST = """
import os, sys
from souverain.ledger import Ledger, LedgerRecord
ledger = Ledger.open(sys.argv[1])
ledger.begin_sync(LedgerRecord("killed-1", backend="mistral", self_hosted=False,
                               data_types={"email": 1}, status="pending"))
os._exit(9)  # killed before the request ended: no finish, no close
"""


def test_killed_process_row_marked_interrupted(ledger_url: str) -> None:
    proc = subprocess.run([sys.executable, "-c", KILLED_MID_REQUEST, ledger_url], check=False)
    assert proc.returncode == 9
    with Ledger.open(ledger_url) as ledger:
        (row,) = list(ledger.rows())
        assert row["request_id"] == "killed-1"
        assert row["status"] == "interrupted" and row["error_code"] == "interrupted"
        assert row["seq"] == 1 and row["data_types"] == {"email": 1}
        assert ledger.verify().ok


def _status(ledger: Ledger) -> dict[str, str]:
    return {r["request_id"]: r["status"] for r in ledger.rows()}


def test_liveness_rule(ledger_url: str) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(dead.stdout)
    with Ledger.open(ledger_url) as ledger:
        ledger.begin_sync(record(request_id="mine", self_hosted=False))
        insert_pending(ledger, "dead-here", f"{hostname()}:{dead_pid}:x.1", 1)
        insert_pending(ledger, "reused-pid", f"{hostname()}:1:not-the-same-process", 1)
        insert_pending(ledger, "other-host-fresh", "elsewhere:123:abc", 60)
        insert_pending(ledger, "other-host-stale", "elsewhere:123:abc", 7200)
        with Ledger.open(ledger_url) as again:
            assert _status(again) == {
                "mine": "pending",  # this process is alive
                "dead-here": "interrupted",
                "reused-pid": "interrupted",  # pid 1 runs, but it is not that writer
                "other-host-fresh": "pending",  # cannot see that host: wait for stale_after_s
                "other-host-stale": "interrupted",
            }
            assert again.verify().ok
        # The live writer can still complete its row.
        ledger.write(record(request_id="mine", self_hosted=False))
        assert _status(ledger)["mine"] == "completed"
        assert ledger.verify().ok
