"""Loading llama.cpp models prints nothing on a command's stderr (issue #16: "a llama.cpp cache
line on every command"): llama.cpp's own log lines go to the ``souverain.backends.llamacpp.native``
logger (errors at error level, the rest at debug), and two backends loading together do not undo each other's
silencing. A real process loading the two embedded chat models, one as an embedding backend."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

LOAD = textwrap.dedent(
    """
    import asyncio, logging, sys
    from souverain.config import parse_config
    from souverain.gateway.runtime import Runtime
    meta = dict(self_hosted=True, operator="x", operator_jurisdiction="FR", location="FR",
                open_weights=True)
    cfg = parse_config({
        "ledger": {"enabled": False},
        "backends": [
            {"name": "g", "type": "llamacpp", "model": "embedded", "n_ctx": 512, **meta},
            {"name": "s", "type": "llamacpp", "model": "embedded:smollm2-135m-instruct",
             "n_ctx": 512, **meta},
            {"name": "e", "type": "llamacpp", "model": "embedded", "embedding": True,
             "n_ctx": 512, **meta},
        ],
        "use_cases": [{"name": "u", "backends": ["g", "s"]}],
    }, "t")
    if sys.argv[1] == "debug":
        logging.basicConfig(level=logging.DEBUG, stream=sys.stdout)
    async def main():
        r = Runtime(cfg)
        await r.start()
        assert all(b.is_healthy() for b in r.backends.values())
        await r.close()
    asyncio.run(main())
    """
)


def _load(tmp_path: Path, level: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOUVERAIN_DATA_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-c", LOAD, level], env=env, capture_output=True, text=True, timeout=300
    )


def test_model_loads_print_nothing_and_log_at_debug(
    tmp_path: Path, embedded_model_path: Path
) -> None:
    quiet = _load(tmp_path, "warning")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == "" and quiet.stdout == ""
    said = _load(tmp_path, "debug")
    assert said.returncode == 0, said.stderr
    assert "souverain.backends.llamacpp.native" in said.stdout  # llama.cpp's lines, at debug
    assert "SWA cache" in said.stdout
