"""Run llama-cpp-python's own OpenAI-compatible server (``llama_cpp.server``), unchanged, as the
real third-party upstream in tests — with the same AMX safeguard souverain applies (weight
repacking off on llama.cpp builds with AMX, which crash on some CPUs)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from souverain.backends.llamacpp import _amx_build, without_weight_repacking


@contextlib.contextmanager
def llama_server(model: Path, *args: str, timeout: float = 120.0) -> Iterator[str]:
    """Start this script (``llama_cpp.server`` on ``model``, extra server ``args``) on a free
    loopback port; yield its ``/v1`` base URL once ``/v1/models`` answers."""
    from tests.support.upstream import free_port

    port = free_port()
    cmd = [sys.executable, __file__, "--model", str(model), "--host", "127.0.0.1"]
    cmd += ["--port", str(port), *args]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ}
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.time() + timeout
        while True:
            assert proc.poll() is None, "llama_cpp.server exited"
            try:
                if httpx.get(base + "/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.time() < deadline, "llama_cpp.server did not start"
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    from llama_cpp.server.__main__ import main

    sys.argv = ["llama_cpp.server", *sys.argv[1:]]
    with without_weight_repacking() if _amx_build() else contextlib.nullcontext():
        main()
