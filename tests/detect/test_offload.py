"""Large texts are scanned in a worker process (issue #11, item 4): the findings are exactly
those of this process's scanner; a scanner the worker cannot rebuild (a detector registered in
code) or a worker that dies is scanned here instead, never left unscanned."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from souverain.detect import Finding, Scanner, offload, register_detector, unregister_detector

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from hostile_bench import SHAPES

IBAN = "FR76 3000 6000 0112 3456 7890 189"


def _texts() -> list[str]:
    return [
        SHAPES["spaced digits (random, 1 per group)"](200_000),
        SHAPES["repeated key= (password=password=...)"](100_000),
        "Virement sur " + IBAN + " pour Marie Dupont, marie.dupont@example.fr",
    ]


def test_the_worker_finds_what_this_process_finds() -> None:
    scanner = Scanner(confidential_markers=["strictement confidentiel"])
    texts = [*_texts(), "note strictement confidentiel: le prix"]
    found = asyncio.run(offload.scan_texts(scanner, texts))
    assert found == {t: scanner.scan(t) for t in texts}
    assert any(f.type == "iban" for f in found[texts[2]])
    assert any(f.category == "confidential" for f in found[texts[3]])


def test_a_detector_registered_in_code_is_scanned_here() -> None:
    def factory(options):  # type: ignore[no-untyped-def]
        return lambda text: [Finding("secret", 0, 5, text[:5])] if "zz-" in text else []

    register_detector("test_in_code", factory)
    try:
        scanner = Scanner()
        text = "zz-secret " * 5000
        found = asyncio.run(offload.scan_texts(scanner, [text]))
        assert any(f.start == 0 and f.type == "secret" for f in found[text])
        assert found[text] == scanner.scan(text)
    finally:
        unregister_detector("test_in_code")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_dead_worker_is_replaced_and_nothing_goes_unscanned() -> None:
    scanner = Scanner(confidential_markers=["dead-worker-test"])  # a pool of its own
    text = "Virement sur " + IBAN + " " + "x" * 20_000

    async def run() -> None:
        first = await offload.scan_texts(scanner, [text])
        assert any(f.type == "iban" for f in first[text])
        pool = offload._pool(scanner, offload._key(scanner))
        for pid in list(pool._processes):  # the worker is killed (OOM killer, operator)
            os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.5)
        again = await offload.scan_texts(scanner, [text])  # scanned here this time
        assert again == first
        third = await offload.scan_texts(scanner, [text])  # a new worker
        assert third == first

    asyncio.run(run())
