"""Small fakes for fault injection and unit tests (never the only proof that a part works)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

from souverain.backends.base import (
    Backend,
    BackendError,
    Capabilities,
    GenerationRequest,
    Health,
    StreamEvent,
    Usage,
)


class FakeBackend(Backend):
    type_name = "fake"

    def __init__(
        self,
        name: str,
        *,
        self_hosted: bool = True,
        jurisdiction: str = "FR",
        location: str = "FR",
        open_weights: bool = True,
        operator: str = "Test Operator",
        healthy: bool = True,
        text: str = "hello from fake",
        chunks: list[str] | None = None,
        fail_before: BackendError | None = None,
        fail_after: BackendError | None = None,
        capabilities: Capabilities | None = None,
        delay: float = 0.0,
    ):
        cfg = SimpleNamespace(
            name=name,
            type="fake",
            self_hosted=self_hosted,
            operator=operator,
            operator_jurisdiction=jurisdiction,
            location=location,
            open_weights=open_weights,
            model="fake-model",
        )
        super().__init__(cfg)
        self.healthy = healthy
        words = text.split(" ")
        self.chunks = chunks if chunks is not None else [*(w + " " for w in words[:-1]), words[-1]]
        self.fail_before = fail_before
        self.fail_after = fail_after
        self._caps = capabilities or Capabilities(streaming=True, tools=True, json_mode=True)
        self.delay = delay
        self.received: list[GenerationRequest] = []
        self.closed_early = False

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    async def health(self) -> Health:
        return Health(self.healthy, "fake")

    def is_healthy(self) -> bool:
        return self.healthy

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamEvent]:
        self.received.append(request)
        if self.fail_before is not None:
            raise self.fail_before
        n = 0
        try:
            for i, c in enumerate(self.chunks):
                if self.delay:
                    await asyncio.sleep(self.delay)
                if self.fail_after is not None and i == 1:
                    raise self.fail_after
                n += 1
                yield StreamEvent(text=c)
        except GeneratorExit:
            self.closed_early = True
            raise
        yield StreamEvent(finish_reason="stop", usage=Usage(7, n))


def install(app: Any, *backends: FakeBackend) -> None:
    """Replace the app's backends (same names as in its config) by fakes."""
    runtime = app.state.runtime
    for b in backends:
        runtime.backends[b.name] = b
