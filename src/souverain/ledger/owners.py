"""Who owns a pending row, and whether that owner is still alive.

Every process that writes to the ledger has a ``writer_id`` = ``host:pid:nonce``. On Linux the
nonce is ``<boot id prefix>.<process start time in clock ticks>``, which together with the pid
identifies one process for the life of the machine, even if pids are reused. Elsewhere it is
random.

The rule ``Ledger.open`` applies to ``pending`` rows (see docs/ledger.md, "Interrupted rows"):

* our own writer id: never touched (the row belongs to this process);
* same host: the owner is dead if no process with that pid is running, or (Linux) it started at
  another time or the machine has rebooted since -> mark ``interrupted``;
* another host (several gateway hosts on one PostgreSQL): we cannot see its processes, so the row is
  marked only once it is older than ``stale_after_s`` (default 1 hour: longer than any request).
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:12]
    except OSError:
        return None


def _start_ticks(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces: split after its closing parenthesis.
    return stat.rsplit(")", 1)[1].split()[19]


def _nonce(pid: int) -> str | None:
    boot, start = _boot_id(), _start_ticks(pid)
    return f"{boot}.{start}" if boot and start else None


def hostname() -> str:
    return socket.gethostname().replace(":", "_")


@cache
def _writer_id_for(pid: int) -> str:
    return f"{hostname()}:{pid}:{_nonce(pid) or 'r' + secrets.token_hex(6)}"


def writer_id() -> str:
    """This process's writer id (recomputed after a fork: the pid changes)."""
    return _writer_id_for(os.getpid())


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_alive(wid: str, created_at: datetime, now: datetime, stale_after_s: float) -> bool:
    """Whether the writer that owns a pending row may still complete it (see module docstring)."""
    if wid == writer_id():
        return True
    try:
        host, pid_text, nonce = wid.split(":", 2)
        pid = int(pid_text)
    except ValueError:
        return now - created_at < timedelta(seconds=stale_after_s)
    if host != hostname():
        return now - created_at < timedelta(seconds=stale_after_s)
    if not _pid_running(pid):
        return False
    if nonce.startswith("r"):  # no /proc: a running pid is all we can check
        return True
    return _nonce(pid) == nonce
