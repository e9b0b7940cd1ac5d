"""Traffic capture from the gateway: completed requests of the use cases that opted in are cleaned
by their data actions and stored for exit drills, in the background (never delaying an answer)."""

from __future__ import annotations

import asyncio
import logging

from souverain.capture import CaptureStore, capture_allowed, prepare_capture
from souverain.detect import Scanner
from souverain.gateway.call import Outcome

log = logging.getLogger("souverain.audit")


class TrafficCapture:
    def __init__(self, store: CaptureStore, scanner: Scanner):
        self.store = store
        self.scanner = scanner
        self._tasks: set[asyncio.Task[None]] = set()

    def offer(self, outcome: Outcome) -> None:
        """Capture ``outcome`` later if it is a completed client request of a use case whose
        capture is enabled and allowed."""
        use_case = outcome.ctx.use_case
        if outcome.status != "completed" or outcome.ctx.kind != "request":
            return
        if not use_case.capture.enabled or not capture_allowed(use_case)[0]:
            return
        task = asyncio.create_task(self._capture(outcome))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _capture(self, outcome: Outcome) -> None:
        req = outcome.ctx.request  # the client's request: prepare_capture applies the data actions
        if req is None:
            return
        client_input = req.messages if req.kind == "chat" else req.prompt
        if client_input is None:
            return
        try:
            item = await asyncio.to_thread(
                prepare_capture,
                outcome.ctx.use_case,
                client_input,
                self.scanner,
                request_id=outcome.ctx.row_id,
                backend=outcome.backend.name if outcome.backend else None,
                answer=outcome.answer_text,
                params=req.generation_params(),
                scan=outcome.ctx.content.scan if outcome.ctx.content is not None else None,
                stream=outcome.ctx.stream,
            )
            await self.store.add(item)
        except Exception:  # capture is best effort: never fails a request
            log.exception("capture failed for request %s", outcome.ctx.row_id)

    async def close(self) -> None:
        """Wait for the captures still running."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
