"""The request's content as policy sees it: every text that would go upstream, scanned once.

Covers every message role (system, user, assistant, tool), text content parts and tool-call
arguments (chat), or the prompt (completions). Pseudonymisation rewrites exactly those texts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from souverain.backends.base import GenerationRequest
from souverain.detect import Finding, Scanner
from souverain.detect.messages import iter_prompt_texts, iter_texts, map_prompt, map_texts
from souverain.policy.placement import Needs
from souverain.policy.pseudonymize import Pseudonymizer, TextRewriter

#: Requests with more text than this are scanned in a worker thread, off the event loop (the
#: scan takes about 0.3 ms per KB: 16,000 characters block the loop for ~5 ms at most).
OFF_LOOP_CHARS = 16_000


def _texts(request: GenerationRequest) -> Iterator[str]:
    if request.kind == "chat":
        return iter_texts(request.messages or [])
    return iter_prompt_texts(request.prompt)


def scan_off_loop(request: GenerationRequest) -> bool:
    """Is the request large enough to scan off the event loop? (Stops counting early.)"""
    total = 0
    for text in _texts(request):
        total += len(text)
        if total > OFF_LOOP_CHARS:
            return True
    return False


class ContentScan:
    """Scan results for one request, cached per distinct text."""

    def __init__(self, scanner: Scanner, request: GenerationRequest):
        self.scanner = scanner
        self.request = request
        self._by_text: dict[str, list[Finding]] = {}
        self.findings: list[Finding] = []
        self.chars = 0
        for text in _texts(request):
            self.chars += len(text)
            self.findings.extend(self._scan(text))

    def _scan(self, text: str) -> list[Finding]:
        found = self._by_text.get(text)
        if found is None:
            found = self.scanner.scan(text) if text else []
            self._by_text[text] = found
        return found

    def needs(self, stream: bool) -> Needs:
        """The API capabilities the request uses (context estimated at ~4 characters/token)."""
        req = self.request
        return Needs(
            stream=stream,
            tools=req.uses_tools(),
            json_mode=req.uses_json_mode(),
            context_tokens=self.chars // 4,
        )

    def pseudonymized(
        self, categories: frozenset[str], pseudonymizer: Pseudonymizer
    ) -> GenerationRequest:
        """A copy of the request with every finding of ``categories`` replaced by a placeholder
        (the texts are not scanned again)."""
        rewrite = TextRewriter(None, categories, pseudonymizer, scan=self._scan)
        req = self.request
        if req.kind == "chat":
            return replace(req, messages=map_texts(req.messages or [], rewrite))
        return replace(req, prompt=map_prompt(req.prompt, rewrite))
