"""A server process (``souverain serve``) moves what start-up built out of the cyclic garbage
collector's sight; an app built in a process that builds many (tests) leaves the heap alone."""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi.testclient import TestClient

from souverain.api.app import create_app
from souverain.config import parse_config
from tests.support.configs import openai_upstream


def _config(tmp_path: Path):  # type: ignore[no-untyped-def]
    return parse_config(
        {
            "backends": [openai_upstream("up", "http://127.0.0.1:9/v1")],
            "use_cases": [{"name": "default", "backends": ["up"]}],
            "ledger": {"url": str(tmp_path / "ledger.db")},
        }
    )


def test_a_server_process_freezes_its_start_up_heap(tmp_path: Path) -> None:
    before = gc.get_freeze_count()
    try:
        with TestClient(create_app(_config(tmp_path), server_process=True)) as client:
            assert client.get("/healthz").status_code == 200
            # the detectors' tables, name lists, config and modules: well over 50,000 objects
            assert gc.get_freeze_count() - before > 50_000
    finally:
        gc.unfreeze()


def test_an_app_in_a_shared_process_leaves_the_heap_alone(tmp_path: Path) -> None:
    before = gc.get_freeze_count()
    with TestClient(create_app(_config(tmp_path))) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() == before
