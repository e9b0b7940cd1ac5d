"""The ``llm`` CLI against a zero-config ``souverain serve``, configured as a user does: an
``extra-openai-models.yaml`` in its user directory (LLM_USER_PATH, a temporary one here). The
CLI runs in-process (click's runner) so that the socket guard watches it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from llm.cli import cli

from tests.clients.conftest import MAX_TOKENS

pytestmark = pytest.mark.slow


@pytest.fixture
def llm_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gateway: str) -> Path:
    models = [{"model_id": "souverain", "model_name": "default", "api_base": gateway}]
    (tmp_path / "extra-openai-models.yaml").write_text(yaml.safe_dump(models))
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path))
    return tmp_path


def _llm(*args: str) -> str:
    done = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return done.output


def test_prompt_streamed_and_not_and_logged(llm_home: Path) -> None:
    assert "souverain" in _llm("models", "list")
    options = ("-o", "max_tokens", str(MAX_TOKENS), "-o", "temperature", "0")
    streamed = _llm("-m", "souverain", "What is the capital of France?", *options)
    plain = _llm("-m", "souverain", "What is the capital of France?", *options, "--no-stream")
    assert plain.strip() and streamed.strip()

    (last,) = json.loads(_llm("logs", "list", "-n", "1", "--json"))
    assert last["model"] == "souverain" and last["response"].strip() == plain.strip()
    assert 0 < last["output_tokens"] <= MAX_TOKENS
    assert (llm_home / "logs.db").exists()  # in the temporary user directory, not the user's
