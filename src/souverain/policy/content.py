"""The request's content as policy sees it: every text that would go upstream, scanned once.

Covers every message role (system, user, assistant, tool), text content parts and tool-call
arguments (chat), or the prompt (completions). Pseudonymisation rewrites exactly those texts.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from souverain.backends.base import GenerationRequest
from souverain.detect import Finding, Scanner
from souverain.detect.messages import iter_texts, map_texts
from souverain.policy.pseudonymize import Pseudonymizer


class ContentScan:
    """Scan results for one request, cached per distinct text."""

    def __init__(self, scanner: Scanner, request: GenerationRequest):
        self.scanner = scanner
        self.request = request
        self._by_text: dict[str, list[Finding]] = {}
        self.findings: list[Finding] = []
        for text in self._texts():
            found = self._scan(text)
            self.findings.extend(found)

    def _texts(self) -> list[str]:
        req = self.request
        if req.kind == "chat":
            return list(iter_texts(req.messages or []))
        prompt = req.prompt
        if isinstance(prompt, list):
            return [str(p) for p in prompt]
        return [prompt or ""]

    def _scan(self, text: str) -> list[Finding]:
        found = self._by_text.get(text)
        if found is None:
            found = self.scanner.scan(text) if text else []
            self._by_text[text] = found
        return found

    def pseudonymized(
        self, categories: frozenset[str], pseudonymizer: Pseudonymizer
    ) -> GenerationRequest:
        """A copy of the request with every finding of ``categories`` replaced by a placeholder."""

        def rewrite(text: str) -> str:
            hits = [f for f in self._scan(text) if f.category in categories]
            return pseudonymizer.pseudonymize(text, hits) if hits else text

        req = self.request
        if req.kind == "chat":
            return replace(req, messages=map_texts(req.messages or [], rewrite))
        if isinstance(req.prompt, list):
            return replace(req, prompt=[rewrite(str(p)) for p in req.prompt])  # type: ignore[arg-type]
        return replace(req, prompt=rewrite(req.prompt or ""), extra=copy.deepcopy(req.extra))


def request_char_count(request: GenerationRequest) -> int:
    if request.kind == "chat":
        return sum(len(t) for t in iter_texts(request.messages or []))
    prompt: Any = request.prompt
    return sum(len(p) for p in prompt) if isinstance(prompt, list) else len(prompt or "")
