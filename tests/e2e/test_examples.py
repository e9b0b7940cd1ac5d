"""Every example config starts and answers with only what its header comment says to set (issue
#16 item 3): a real ``souverain serve`` per example, the real embedded model, the official openai
client; the variables the header calls optional are unset, so the optional remote backends are
absent and the request is answered through the embedded path."""

from __future__ import annotations

import re
from pathlib import Path

import openai
import pytest

from souverain.api.auth import new_key
from souverain.config import load_config
from tests.conftest import ROOT, gateway_process

pytestmark = pytest.mark.slow

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
REQUIRED = re.compile(r"^# Required environment variables:(.*)$", re.MULTILINE)


def header_variables(path: Path) -> list[str]:
    """The variables the header says to set: ``# Required environment variables: A B`` (or
    ``none``); the list ends at the first '(' or '. '."""
    found = REQUIRED.search(path.read_text(encoding="utf-8"))
    assert found, f"{path.name}: the header must say which environment variables are required"
    text = re.split(r"\(|\. ", found.group(1))[0]
    return re.findall(r"\b[A-Z][A-Z0-9_]{2,}\b", text)


def test_every_example_is_covered() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"quickstart.yaml", "souverain.yaml", "policies.yaml"} <= names
    assert header_variables(ROOT / "examples" / "quickstart.yaml") == []
    assert header_variables(ROOT / "examples" / "souverain.yaml") == [
        "SOUVERAIN_KYC_KEY",
        "SOUVERAIN_RESEARCH_KEY",
    ]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_starts_and_answers(example: Path, tmp_path: Path) -> None:
    required = header_variables(example)
    env = {name: new_key() for name in required}  # the client keys the header asks for
    env |= {"SOUVERAIN_DATA_DIR": str(tmp_path / "data")}
    with pytest.MonkeyPatch.context() as mp:  # read the config as serve will, with that env
        for name, value in env.items():
            mp.setenv(name, value)
        cfg = load_config(example)
    optional = {b.api_key_env for b in cfg.backends if getattr(b, "api_key_env", None)}
    unset = (*sorted(optional - set(required)), "SOUVERAIN_CONFIG")
    local = tuple(b.name for b in cfg.backends if b.type in ("llamacpp", "onnx"))
    # who calls what: each configured key on its first use case, or (no keys) the first use case
    calls = [
        (env[k.env] if k.env else "", k.use_cases[0] if k.use_cases[0] != "*" else "")
        for k in cfg.api_keys
    ] or [("unused", cfg.use_cases[0].name)]
    with gateway_process(example, env=env, ready=local, unset=unset) as base:
        for key, use_case in calls:
            assert key, f"{example.name}: a key given by sha256 cannot be used by a test"
            client = openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)
            raw = client.chat.completions.with_raw_response.create(
                model=use_case or cfg.use_cases[0].name,
                messages=[{"role": "user", "content": "Say hello."}],
                max_tokens=4,
                temperature=0,
            )
            reply = raw.parse()
            assert raw.headers["x-souverain-backend"] in local, (example.name, use_case)
            assert reply.choices[0].message.content is not None
            assert reply.usage is not None and reply.usage.completion_tokens > 0
