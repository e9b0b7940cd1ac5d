"""Shared fixtures: isolated data directories, one shared model cache, gateway processes."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.upstream import free_port

ROOT = Path(__file__).resolve().parents[1]
# A test module that builds an app at import (tests/api/test_fuzz.py) resolves the ledger path
# before any fixture runs: the whole session gets a private data dir, never the user's (where a
# ledger migrated by another checkout's newer schema would break it).
os.environ["SOUVERAIN_DATA_DIR"] = tempfile.mkdtemp(prefix="souverain-test-data-")


@pytest.fixture(scope="session", autouse=True)
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One cache dir per test session: the embedded GGUF is assembled (and verified) once."""
    path = Path(os.environ.get("SOUVERAIN_TEST_CACHE_DIR") or tmp_path_factory.mktemp("cache"))
    old = os.environ.get("SOUVERAIN_CACHE_DIR")
    os.environ["SOUVERAIN_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("SOUVERAIN_CACHE_DIR", None)
    else:
        os.environ["SOUVERAIN_CACHE_DIR"] = old


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOUVERAIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SOUVERAIN_CONFIG", raising=False)
    return tmp_path / "data"


@pytest.fixture(scope="session")
def embedded_model_path(_model_cache: Path) -> Path:
    from souverain.backends.embedded import embedded_model_path as resolve

    return resolve()


@contextmanager
def gateway_process(
    config: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120.0,
    extra_args: list[str] | None = None,
    ready: tuple[str, ...] | None = None,
    unset: tuple[str, ...] = (),
    cwd: Path | None = None,
    log: Path | None = None,
    log_level: str | None = "warning",
) -> Iterator[str]:
    """Run a real ``souverain serve`` process on a free loopback port; yield its base URL once
    ``/readyz`` says ready (or, with ``ready``, once those backends are: others may be down).
    ``unset``: environment variables the process must not see; ``cwd``: where it runs; ``log``:
    a file for its output; ``log_level``: None for serve's own default."""
    port = free_port()
    cmd = [sys.executable, "-m", "souverain", "serve", "--port", str(port)]
    if log_level is not None:
        cmd += ["--log-level", log_level]
    if config is not None:
        cmd += ["--config", str(config)]
    cmd += extra_args or []
    proc_env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k not in unset}
    out_file = log.open("w") if log is not None else None
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=proc_env,
        stdout=out_file if out_file is not None else subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else log.read_text() if log else ""
                raise RuntimeError(f"souverain serve exited with {proc.returncode}:\n{out}")
            try:
                resp = httpx.get(base + "/readyz", timeout=2)
                if resp.status_code == 200 or (
                    ready and all(resp.json()["backends"][n]["ok"] for n in ready)
                ):
                    break
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            if time.time() > deadline:
                raise RuntimeError("souverain serve did not become ready")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if out_file is not None:
            out_file.close()


@pytest.fixture(scope="module")
def embedded_gateway(tmp_path_factory: pytest.TempPathFactory, _model_cache: Path) -> Iterator[str]:
    data = tmp_path_factory.mktemp("gw-data")
    with gateway_process(env={"SOUVERAIN_DATA_DIR": str(data)}) as base:
        yield base
