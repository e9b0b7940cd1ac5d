"""The README, run as a new user runs it (issue #16, Tests): from a clean checkout of what is
committed, the serve command's ``souverain serve`` with no config, then every example of "Calling
it" exactly as written (curl, the openai client, LangChain, embeddings, responses), only the port
changed from 8000 to a free one; the output each prints is checked."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import gateway_process

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else None]


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def test_the_two_set_up_commands_are_first_and_as_documented() -> None:
    serve = re.search(r"<!-- serve-command -->\n```\n(.*?)\n```", README, re.S)
    tests = re.search(r"<!-- test-command -->\n```\n(.*?)\n```", README, re.S)
    assert serve and tests and serve.start() < tests.start() < README.index("## Calling it")
    assert serve.group(1) == (
        "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/souverain serve"
    )
    ci = (ROOT / ".ci" / "run").read_text()
    assert "<!-- test-command -->" in ci and 'eval "$cmd"' in ci  # CI runs the README's command


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, _model_cache: Path) -> Iterator[dict]:
    """``souverain serve`` (the serve command's last step) in a clean clone of the repository,
    fresh data directory, no config: what a new user gets."""
    tmp = tmp_path_factory.mktemp("readme")
    checkout = ROOT
    if (ROOT / ".git").exists() and shutil.which("git"):
        checkout = tmp / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(checkout)], check=True)
    env = {
        "PYTHONPATH": str(checkout / "src"),  # the clone's code, not the working tree's
        "SOUVERAIN_DATA_DIR": str(tmp / "data"),
    }
    log = tmp / "serve.log"
    with gateway_process(
        env=env, timeout=180, unset=("SOUVERAIN_CONFIG",), cwd=checkout, log=log, log_level=None
    ) as base:
        port = int(base.rsplit(":", 1)[1])
        yield {"port": port, "env": {**os.environ, **env}, "cwd": checkout, "log": log}


def _as_written(code: str, port: int) -> str:
    assert "127.0.0.1:8000" in code  # the README's address; only the port changes
    return code.replace("127.0.0.1:8000", f"127.0.0.1:{port}")


def _run(served: dict, cmd: list[str]) -> str:
    env = {k: v for k, v in served["env"].items() if not k.startswith("SOUVERAIN_")}
    done = subprocess.run(
        cmd, cwd=served["cwd"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_serve_says_what_it_uses(served: dict) -> None:
    said = served["log"].read_text()
    assert "souverain: config: " in said and "souverain: ledger: " in said
    assert "gemma-3-270m" in said


def test_calling_it_examples_run_as_written(served: dict) -> None:
    calling = _section("Calling it")
    (curl,) = _blocks(calling, "sh")
    python = _blocks(calling, "python")
    # openai, LangChain, embeddings and responses (these two use the first's client)
    assert len(python) == 4
    port = served["port"]

    reply = json.loads(_run(served, ["bash", "-c", _as_written(curl, port)]))
    assert reply["object"] == "chat.completion" and reply["model"] == "gemma-3-270m"
    assert reply["choices"][0]["message"]["content"].strip()
    assert 0 < reply["usage"]["completion_tokens"] <= 32

    printed = _run(served, [sys.executable, "-c", _as_written(python[0], port)])
    # model, content (which may hold newlines), usage; then the streamed rivers, token by token
    printed_as = re.fullmatch(r"gemma-3-270m .*?CompletionUsage\(.*?\)\n(.*)", printed, re.S)
    assert printed_as is not None and printed_as.group(1).strip(), printed

    said = _run(served, [sys.executable, "-c", _as_written(python[1], port)])
    assert said.strip()

    client = python[0].split("reply =")[0]  # the import and the client, as the README sets them
    vectors = _run(served, [sys.executable, "-c", _as_written(client + python[2], port)])
    assert vectors.strip() == "384"

    answer = _run(served, [sys.executable, "-c", _as_written(client + python[3], port)])
    assert answer.strip()  # the rivers, as a response's output_text
