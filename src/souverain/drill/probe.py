"""Probe the backends a drill relies on, actively and with a timeout.

A drill's verdict rests on the backend that serves a use case today and on the one that would
serve it after the exit. Their cached health (``is_healthy()``) is a passive state — an
``openai`` backend nobody called yet counts as healthy — so before replaying anything the drill
asks each of them directly (:meth:`Backend.health`: the ``openai`` type calls ``GET /models``,
``llamacpp`` reports whether its model loaded), all at once, each bounded by ``timeout`` seconds.
A backend that fails its probe makes every verdict relying on it ``unverified`` (run.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

#: seconds each probe may take (``drill exit --probe-timeout``)
DEFAULT_PROBE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Probe:
    backend: str
    ok: bool
    detail: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def probe_one(backend: Any, timeout: float) -> Probe:
    started = time.perf_counter()
    try:
        health = await asyncio.wait_for(backend.health(), timeout)
        ok, detail = bool(health.ok), str(health.detail)
    except TimeoutError:
        ok, detail = False, f"no answer within {timeout:g} s"
    except Exception as exc:  # a probe must report, never crash the drill
        ok, detail = False, f"probe failed: {type(exc).__name__}: {exc}"
    return Probe(backend.name, ok, detail, round(time.perf_counter() - started, 3))


async def probe_backends(
    backends: Mapping[str, Any], names: Iterable[str], timeout: float = DEFAULT_PROBE_TIMEOUT_S
) -> dict[str, Probe]:
    """Probe each named backend (unknown names are skipped), concurrently."""
    wanted = [backends[n] for n in dict.fromkeys(names) if n in backends]
    probes = await asyncio.gather(*(probe_one(b, timeout) for b in wanted))
    return {p.backend: p for p in probes}
