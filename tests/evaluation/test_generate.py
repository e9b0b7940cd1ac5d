"""The built-in suites are what the seeded generator writes, byte for byte."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "src" / "souverain" / "evaluation" / "suites"
FILES = (
    "kyc-extract.suite.yaml",
    "kyc-extract.jsonl",
    "doc-classify.suite.yaml",
    "doc-classify.jsonl",
)


def _generate(out: Path, hash_seed: str) -> None:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    script = ROOT / "scripts" / "generate_suites.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(out)], check=True, env=env, timeout=120
    )


def test_generator_reproduces_the_committed_suites(tmp_path: Path) -> None:
    # a different hash seed on each run: the script must pin its own
    _generate(tmp_path / "a", "1")
    _generate(tmp_path / "b", "random")
    for name in FILES:
        first = (tmp_path / "a" / name).read_bytes()
        assert first == (tmp_path / "b" / name).read_bytes(), name
        assert first == (SUITES / name).read_bytes(), (
            f"{name} differs from the committed file: run scripts/generate_suites.py"
        )
