"""Hostile input against a real `souverain serve` with the embedded llama.cpp model and a real
third-party upstream (llama-cpp-python's `llama_cpp.server`): the inputs that gave 500s and
502s (oversized integers, lone surrogates) are 400s naming the field on every backend, the
official `openai` client sees a BadRequestError, and the ledger keeps no pending row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
import yaml

from souverain.ledger import Ledger
from tests.conftest import gateway_process
from tests.e2e.test_openai_backend import llama_server  # noqa: F401  (module fixture)
from tests.support.configs import embedded, openai_upstream

pytestmark = pytest.mark.slow
USE_CASES = ("local", "remote")


@pytest.fixture(scope="module")
def gateway(
    llama_server: str,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("hostile")
    ledger = tmp / "ledger.db"
    cfg = {
        "backends": [
            embedded("embedded"),
            openai_upstream(
                "llama-server",
                llama_server,
                model="gemma-remote",
                self_hosted=False,
                capabilities={"tools": False},
                timeouts={"connect": 2, "first_byte": 60, "total": 120},
            ),
        ],
        "use_cases": [
            {"name": "local", "backends": ["embedded"]},
            {"name": "remote", "backends": ["llama-server"]},
        ],
        "ledger": {"url": str(ledger)},
    }
    path = tmp / "gw.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with gateway_process(path, env={"SOUVERAIN_DATA_DIR": str(tmp)}) as base:
        yield base, ledger


@pytest.mark.parametrize("use_case", USE_CASES)
def test_oversized_integers_are_400_through_the_openai_client(gateway, use_case) -> None:
    base, _ = gateway
    client = openai.OpenAI(base_url=base + "/v1", api_key="x", max_retries=0)
    msgs = [{"role": "user", "content": "hi"}]
    for field, value in (("max_tokens", 2**70), ("seed", 2**64), ("seed", -(2**63) - 1)):
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(
                model=use_case, messages=msgs, max_tokens=2, extra_body={field: value}
            )
        assert caught.value.body["param"] == field, caught.value.body
        assert caught.value.body["code"] == "invalid_value"
    # the extreme 64-bit seeds are served (llama.cpp keeps their low 32 bits)
    for seed in (2**63 - 1, -(2**63)):
        reply = client.chat.completions.create(
            model=use_case, messages=msgs, max_tokens=2, seed=seed
        )
        assert reply.choices[0].finish_reason in ("stop", "length")


@pytest.mark.parametrize("use_case", USE_CASES)
@pytest.mark.parametrize("stream", [False, True])
def test_lone_surrogate_is_400_on_every_backend(gateway, use_case, stream) -> None:
    base, _ = gateway
    raw = (
        f'{{"model":"{use_case}","max_tokens":2,"stream":{str(stream).lower()},'
        '"messages":[{"role":"user","content":"caf\\ud800e"}]}'
    )
    r = httpx.post(
        base + "/v1/chat/completions",
        content=raw.encode(),
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["param"] == "messages[0].content" and err["code"] == "invalid_value"
    # a valid surrogate pair (one emoji) is served by the same backend
    ok = httpx.post(
        base + "/v1/chat/completions",
        content=raw.replace("\\ud800", "\\ud83d\\ude00").encode(),
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert ok.status_code == 200, ok.text


def test_no_pending_rows_after_hostile_input(gateway) -> None:
    base, ledger_path = gateway
    for body in (
        b'{"model":"remote","max_tokens":1e999,"messages":[]}',
        b'{"model":"remote","messages":[{"role":"user","content":"\\udfff"}]}',
        b'{"model":"local","messages":[{"role":"user","content":"x"}],"seed":NaN}',
        b'{"model":"local","response_format":{"type":"json_schema","json_schema":"x"},'
        b'"messages":[{"role":"user","content":"x"}]}',
    ):
        r = httpx.post(
            base + "/v1/chat/completions",
            content=body,
            headers={"content-type": "application/json"},
            timeout=60,
        )
        assert r.status_code == 400, r.text
    with Ledger.open(str(ledger_path)) as ledger:
        rows = list(ledger.rows())
    assert rows, "the served requests above were recorded"
    assert not [r for r in rows if r["status"] == "pending"]
    assert not [r for r in rows if (r["http_status"] or 0) >= 500], rows
