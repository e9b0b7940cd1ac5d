"""A private PostgreSQL server for tests that stop or break the database (the machine's server at
127.0.0.1:5432 is never touched): ``initdb`` in a temporary directory, ``pg_ctl`` on a free port.
As root, the server runs as the ``postgres`` user (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.upstream import free_port


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class PrivatePostgres:
    def __init__(self) -> None:
        initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
        if not initdb or not pg_ctl:
            if os.environ.get("CI") == "true":
                raise RuntimeError("initdb/pg_ctl not found (install postgresql)")
            pytest.skip("initdb/pg_ctl not found: the private PostgreSQL tests need them")
        self.pg_ctl = pg_ctl
        self.dir = Path(tempfile.mkdtemp(prefix="souverain-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._prefix: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self._prefix = ["runuser", "-u", "postgres", "--"]
        self._run(initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def _run(self, *cmd: str) -> None:
        subprocess.run(
            [*self._prefix, *cmd], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=40"
        )
        self._run(
            self.pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w",
            "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop")

    def __enter__(self) -> PrivatePostgres:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
