"""The client matrix (issue #13 item 4): the libraries users bring, each driven against a real
``souverain serve``. One zero-config gateway (the embedded model) serves the whole package; a
test whose library needs what a 270M base model cannot do (an agent that decides to call a tool)
uses a gateway in front of the mock upstream instead. Every test runs under the socket guard: a
library that connects beyond loopback fails it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import gateway_process
from tests.support.configs import openai_upstream
from tests.support.netguard import loopback_only
from tests.support.upstream import Upstream

#: small answers: the embedded model is slow on 2 cores and the matrix runs in CI
MAX_TOKENS = 8


@pytest.fixture(autouse=True)
def socket_guard() -> Iterator[list[str]]:
    with loopback_only() as attempts:
        yield attempts
    assert not attempts, f"the library connected beyond loopback: {attempts}"


@pytest.fixture(scope="package")
def gateway(tmp_path_factory: pytest.TempPathFactory, _model_cache: Path) -> Iterator[str]:
    """``/v1`` of a zero-config ``souverain serve`` (use cases ``default`` and ``embed``)."""
    data = tmp_path_factory.mktemp("matrix-data")
    with gateway_process(env={"SOUVERAIN_DATA_DIR": str(data)}) as base:
        yield base + "/v1"


@pytest.fixture(scope="module")
def upstream_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Upstream]]:
    """(``/v1`` of a ``souverain serve`` whose use case ``chat`` goes to the mock upstream, the
    upstream)."""
    tmp = tmp_path_factory.mktemp("matrix-upstream")
    with Upstream() as up:
        cfg = {
            "backends": [openai_upstream("mock", up.base_url)],
            "use_cases": [{"name": "chat", "backends": ["mock"]}],
        }
        path = tmp / "gw.yaml"
        path.write_text(yaml.safe_dump(cfg))
        with gateway_process(path, env={"SOUVERAIN_DATA_DIR": str(tmp / "data")}) as base:
            yield base + "/v1", up
