"""Scans of large texts in a worker process, so that they never hold this process's GIL.

A thread is not enough: a regular expression runs in one C call that keeps the GIL, and on a
hostile 1 MB text one such call takes 40-430 ms (``password=password=...``), during which the
event loop cannot answer anything, ``/healthz`` included. The worker is started with ``spawn``
(never ``fork``: this process runs threads) on the first large text, builds the same
:class:`~souverain.detect.scanner.Scanner` from its :attr:`~Scanner.spec`, and returns exactly the
findings the scanner would return here. One worker per distinct scanner spec and process.

If the worker cannot be started or dies, the texts are scanned in a thread of this process
instead: slower for the other requests meanwhile, never a text left unscanned.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import multiprocessing
import threading
from collections.abc import Sequence
from typing import Any

from souverain.detect.finding import Finding
from souverain.detect.scanner import Scanner

log = logging.getLogger(__name__)

_pools: dict[str, concurrent.futures.ProcessPoolExecutor] = {}
#: scanners a worker cannot stand in for (its start failed): scanned in a thread from then on
_in_process: set[str] = set()
#: scanners whose worker has answered at least once
_worked: set[str] = set()
_lock = threading.Lock()
_worker_scanner: Scanner | None = None


class DifferentDetectors(RuntimeError):
    """The worker's scanner would not run the detectors this process's runs."""


def _init_worker(spec: dict[str, Any], expected: tuple[str, ...]) -> None:
    global _worker_scanner
    scanner = Scanner(**spec)
    if scanner.detector_ids != expected:  # one registered in code in the parent: scan there
        raise DifferentDetectors(f"{scanner.detector_ids} != {expected}")
    _worker_scanner = scanner


def _scan_in_worker(texts: Sequence[str]) -> list[list[Finding]]:
    assert _worker_scanner is not None
    return [_worker_scanner.scan(text) for text in texts]


def _key(scanner: Scanner) -> str:
    return repr((sorted(scanner.spec.items()), scanner.detector_ids))


def _pool(scanner: Scanner, key: str) -> concurrent.futures.ProcessPoolExecutor:
    with _lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = concurrent.futures.ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(scanner.spec, scanner.detector_ids),
            )
        return pool


def _drop(key: str, pool: concurrent.futures.ProcessPoolExecutor, *, for_good: bool) -> None:
    with _lock:
        if _pools.get(key) is pool:
            del _pools[key]
        if for_good:
            _in_process.add(key)
    pool.shutdown(wait=False, cancel_futures=True)


async def scan_texts(scanner: Scanner, texts: Sequence[str]) -> dict[str, list[Finding]]:
    """The findings of each of ``texts`` (distinct), scanned in the worker process."""
    texts = list(dict.fromkeys(t for t in texts if t))
    if not texts:
        return {}
    key = _key(scanner)
    if key in _in_process:
        return await _in_a_thread(scanner, texts)
    loop = asyncio.get_running_loop()
    pool = _pool(scanner, key)
    try:
        found = await loop.run_in_executor(pool, _scan_in_worker, texts)
    except (concurrent.futures.BrokenExecutor, OSError, RuntimeError) as exc:
        # a worker that never started (or cannot stand in for this scanner) is not tried again;
        # one that died after working is restarted on the next large text
        log.warning("scan worker unavailable (%s): scanning in a thread", type(exc).__name__)
        _drop(key, pool, for_good=key not in _worked)
        return await _in_a_thread(scanner, texts)
    _worked.add(key)
    return dict(zip(texts, found, strict=True))


async def _in_a_thread(scanner: Scanner, texts: list[str]) -> dict[str, list[Finding]]:
    found = await asyncio.to_thread(lambda: [scanner.scan(t) for t in texts])
    return dict(zip(texts, found, strict=True))


def shutdown() -> None:
    """Stop every worker (tests; a process's exit stops them by itself)."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown)  # before the interpreter tears the pools' modules down
