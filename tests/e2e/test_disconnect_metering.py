"""A client that hangs up mid-stream is metered: a real `souverain serve` with the embedded model
and a real llama_cpp.server upstream (priced), a raw HTTP client that reads 20 chunks and leaves.
The row says the client disconnected, counts the tokens produced until then (estimated, and says
so) and their cost, and the budget spends it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from souverain.ledger.readonly import open_readonly
from tests.conftest import gateway_process
from tests.e2e.test_openai_backend import llama_server  # noqa: F401  (module fixture)
from tests.support.configs import embedded, openai_upstream

pytestmark = pytest.mark.slow
CHUNKS = 20


@pytest.fixture(scope="module")
def gateway(
    llama_server: str,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("disconnect")
    ledger = tmp / "ledger.db"
    cfg = {
        "backends": [
            embedded("embedded", eur_per_hour=10.0),
            openai_upstream(
                "llama-server",
                llama_server,
                model="gemma-remote",
                self_hosted=False,
                price={"input_eur_per_mtok": 1000.0, "output_eur_per_mtok": 5000.0},
                capabilities={"tools": False},
                timeouts={"connect": 2, "first_byte": 60, "total": 120},
            ),
        ],
        "use_cases": [
            {"name": "local", "backends": ["embedded"], "budget": {"eur_per_day": 1000}},
            {"name": "remote", "backends": ["llama-server"], "budget": {"eur_per_day": 1000}},
        ],
        "ledger": {"url": str(ledger)},
    }
    path = tmp / "gw.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with gateway_process(path, env={"SOUVERAIN_DATA_DIR": str(tmp)}) as base:
        yield base, ledger


def read_chunks_then_leave(base: str, use_case: str) -> str:
    body = {
        "model": use_case,
        "stream": True,
        "max_tokens": 400,
        "temperature": 0.0,
        "prompt": "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,",  # a base model counts on and on
    }
    with (
        httpx.Client(timeout=60) as c,
        c.stream("POST", base + "/v1/completions", json=body) as r,
    ):
        assert r.status_code == 200
        request_id = r.headers["X-Request-Id"]
        seen = 0
        for line in r.iter_lines():
            if line.startswith("data: {") and '"text":"' in line and '"text":""' not in line:
                seen += 1
                if seen == CHUNKS:
                    break  # leaving the with-blocks closes the connection mid-stream
    assert seen == CHUNKS, "the answer was shorter than the test needs"
    return request_id


def final_row(ledger: Path, request_id: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        with open_readonly(f"sqlite:///{ledger}") as reader:
            found = [r for r in reader.rows() if r["request_id"] == request_id]
        if found and found[0]["status"] != "pending":
            return found[0]
        assert time.monotonic() < deadline, found
        time.sleep(0.2)


@pytest.mark.parametrize("use_case", ["local", "remote"])
def test_disconnect_is_metered_and_charged(gateway, use_case: str) -> None:
    base, ledger = gateway
    request_id = read_chunks_then_leave(base, use_case)
    row = final_row(ledger, request_id)
    assert row["error_code"] == "client_disconnected", row
    assert row["status"] == "failed"
    assert row["completion_tokens"] >= CHUNKS, row
    assert row["prompt_tokens"] > 0
    assert row["cost_eur"] is not None and row["cost_eur"] > 0, row
    assert "client disconnected after" in row["reason"]
    if use_case == "remote":  # priced per token: the tokens are what it costs
        assert row["cost_method"] == "price:config"
        assert row["cost_eur"] >= CHUNKS * 5000.0 / 1e6
        assert "estimated" in row["reason"]
    # the budget spends it: the use case's spend is at least this row's cost
    with open_readonly(f"sqlite:///{ledger}") as reader:
        (spent,) = reader.spend("use_case", use_case, [row["ts"]])
    assert spent >= row["cost_eur"]
