"""A gateway in front of a capturing upstream, served on loopback in a thread, for egress tests:
a `block` and a `pseudo` use case on a non-self-hosted OpenAI-compatible backend (the
capturing :class:`~tests.support.upstream.Upstream`). Tests call it with the official `openai`
client and read what the upstream received."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from souverain.api.app import create_app
from souverain.config import parse_config
from tests.support.configs import openai_upstream
from tests.support.upstream import Upstream, free_port

IBAN = "FR76 3000 6000 0112 3456 7890 189"
NIR = "2 84 05 75 056 143 67"
CARD = "4970 1012 3456 7893"
_ALNUM = re.compile(r"[\W_]+")


def compact(value: str) -> str:
    return _ALNUM.sub("", value).upper()


def strings(node: Any, join_parts: bool = False) -> Iterator[str]:
    """Every key, string and number of a JSON value; strings holding JSON are decoded too (an
    independent walk: the test does not trust the gateway's own). ``join_parts``: also the
    texts of a list of content parts joined, as a receiver may join them."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield str(k)
            yield from strings(v, join_parts)
    elif isinstance(node, list):
        if join_parts:
            texts = [v.get("text") for v in node if isinstance(v, dict)]
            if len(texts) > 1 and all(isinstance(t, str) for t in texts):
                yield "".join(texts)
        for v in node:
            yield from strings(v, join_parts)
    elif isinstance(node, str):
        yield node
        try:
            inner = json.loads(node)
        except ValueError:
            return
        if isinstance(inner, dict | list):
            yield from strings(inner, join_parts)
    else:
        yield str(node)


def received(upstream: Upstream, since: int = 0) -> str:
    """Everything the upstream received after its first ``since`` requests, as one text: every
    string of every JSON body (keys, values, numbers, escaped JSON decoded) and the raw bytes,
    with formatting removed (upper case, letters and digits only)."""
    parts: list[str] = []
    for raw in upstream.captured[since:]:
        parts.append(raw.decode("utf-8", "replace"))
        parts.extend(strings(json.loads(raw)))
    return "\n".join(compact(p) for p in parts)


def leaks(upstream: Upstream, values: list[str], since: int = 0) -> list[str]:
    text = received(upstream, since)
    return [v for v in values if compact(v) in text]


@contextmanager
def egress_gateway(
    tmp: Path, *, policies: dict[str, dict[str, Any]] | None = None, **backend: Any
) -> Iterator[tuple[str, Upstream, Any]]:
    """(base URL of the gateway, the upstream, the runtime)."""
    policies = policies or {
        # media allowed: these use cases test what the text scan finds (image URLs included)
        "block": {"personal_data": "block", "media": "allow"},
        "pseudo": {"personal_data": "pseudonymize", "media": "allow"},
    }
    with Upstream() as up:
        cfg = parse_config(
            {
                "backends": [
                    openai_upstream(
                        "remote", up.base_url, self_hosted=False, operator="Remote", **backend
                    )
                ],
                "use_cases": [
                    {"name": name, "backends": ["remote"], "policy": policy}
                    for name, policy in policies.items()
                ],
                "ledger": {"url": str(tmp / "ledger.db")},
            }
        )
        app = create_app(cfg)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.time() + 30
        while not server.started:
            assert thread.is_alive() and time.time() < deadline, "gateway did not start"
            time.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}/v1", up, app.state.runtime
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def ledger_row(runtime: Any, request_id: str) -> dict[str, Any]:
    assert runtime.ledger is not None
    for _ in range(100):
        for row in runtime.ledger.rows():
            if row["request_id"] == request_id and row["status"] != "pending":
                return row
        time.sleep(0.02)
    raise AssertionError(f"no ledger row for {request_id}")
