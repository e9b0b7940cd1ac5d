"""The request's content as policy sees it: the body that would leave, scanned once, whole.

"What leaves" is built by one function (:func:`souverain.backends.egress.egress_body`, every field
of the request) and scanned by one walk (:func:`souverain.detect.messages.collect`: every string
at any depth, keys of every object, large numbers as text, escaped JSON decoded). Pseudonymisation
rewrites exactly those strings and the request is rebuilt from the rewritten body, so nothing
reaches a backend that the scan did not see. Media (images, audio, files, data URLs) cannot be
scanned: each counts as one ``media`` finding, and so does each token array of an embeddings
request, which the policy's ``media`` action decides
(their URLs are text and scanned like the rest).
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from typing import Any

from souverain.backends.base import PART_MEDIA, GenerationRequest, estimate_tokens
from souverain.backends.egress import egress_body, with_body
from souverain.detect import Finding, Scanner
from souverain.detect.messages import Run, collect, map_strings, merge_runs, run_texts, text_runs
from souverain.policy.placeholders import names_in
from souverain.policy.placement import Needs
from souverain.policy.pseudonymize import Pseudonymizer, TextRewriter

#: Requests with more text than this are scanned off the event loop, in a worker process (the
#: scan takes about 0.3 ms per KB: 16,000 characters block the loop for ~5 ms at most).
OFF_LOOP_CHARS = 16_000

#: the finding each piece of media (image, audio, file, data URL) counts as: no scanner can read
#: it, so the policy's ``media`` action decides
MEDIA_FINDING = Finding("media", 0, 0, "", None, "unscannable")


#: the wire format's own words, which every request repeats (keys, roles, part types): each is
#: scanned once per scanner instead of once per request (5 of the 6 scans of a one-message chat)
WIRE_WORDS = frozenset(
    {
        *("messages", "role", "content", "name", "tool_calls", "tool_call_id", "refusal"),
        *("system", "developer", "user", "assistant", "tool", "function"),
        *("type", "text", "image_url", "url", "detail", "input_audio", "file", "input_text"),
        *("id", "arguments", "tools", "description", "parameters", "properties", "required"),
        *("string", "number", "integer", "boolean", "object", "array", "items", "enum"),
        *("tool_choice", "auto", "none", "response_format", "json_schema", "json_object"),
        *("schema", "strict", "stop", "max_tokens", "temperature", "top_p", "seed", "prompt"),
        *("presence_penalty", "frequency_penalty", "parallel_tool_calls", "input"),
    }
)


class Walked:
    """The body that would leave and the strings in it (not scanned yet: cheap)."""

    def __init__(self, request: GenerationRequest):
        self.request = request
        self.body: dict[str, Any] = egress_body(request)
        self.strings, self.media = collect(self.body)
        self.runs = text_runs(self.body)
        if request.kind == "embedding" and request.input and not isinstance(request.input[0], str):
            self.media += len(request.input)  # token arrays: no scanner can read them
        self.chars = sum(map(len, self.strings))

    def texts(self) -> list[str]:
        """Every text :class:`ContentScan` scans: the strings, and each run's joined text."""
        return [*self.strings, *("".join(run_texts(self.body, run)) for run in self.runs)]


def scan_off_loop(request: GenerationRequest | Walked) -> bool:
    """Is the request large enough to scan off the event loop?"""
    walked = request if isinstance(request, Walked) else Walked(request)
    return walked.chars > OFF_LOOP_CHARS


def media_parts(messages: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    """The first content part of each media kind (image, audio, file, video) in ``messages``,
    with where it is (``messages[0].content[1]``): a backend that cannot read that kind is
    excluded (a text-only model would never see the part)."""
    found: dict[str, str] = {}
    for i, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            kind = PART_MEDIA.get(str(part.get("type"))) if isinstance(part, dict) else None
            if kind is not None and kind not in found:
                found[kind] = f"messages[{i}].content[{j}]"
    return tuple(found.items())


class ContentScan:
    """Scan results for one request, cached per distinct text. Raises
    :class:`~souverain.detect.messages.TooDeep` for a body nested beyond reason."""

    def __init__(
        self,
        scanner: Scanner,
        request: GenerationRequest | Walked,
        scanned: dict[str, list[Finding]] | None = None,
    ):
        """``scanned``: findings of the walk's :meth:`~Walked.texts` already scanned (by the
        same scanner, in a worker process: :func:`souverain.detect.offload.scan_texts`)."""
        walked = request if isinstance(request, Walked) else Walked(request)
        scanner.remember_clean(WIRE_WORDS)
        self.scanner = scanner
        self.request = walked.request
        self.body = walked.body
        self.chars = walked.chars
        self.strings = walked.strings
        self._by_text: dict[str, list[Finding]] = dict(scanned or {})
        self._reserved: set[str] | None = None
        self.findings: list[Finding] = []
        for text in walked.strings:
            self.findings.extend(self.scan(text))
        #: runs of text parts holding a value split across parts (rewritten as one part)
        self.split_runs: list[Run] = []
        for run in walked.runs:
            crossing = self._crossing(run_texts(self.body, run))
            if crossing:
                self.findings.extend(crossing)
                self.split_runs.append(run)
        self.findings.extend([MEDIA_FINDING] * walked.media)

    def _crossing(self, texts: list[str]) -> list[Finding]:
        """The findings of the joined ``texts`` that cross from one text into the next (those
        within one text are already counted)."""
        bounds = list(accumulate(map(len, texts)))[:-1]
        out = []
        for f in self.scan("".join(texts)):
            i = bisect_right(bounds, f.start)
            if i < len(bounds) and bounds[i] < f.end:
                out.append(f)
        return out

    def scan(self, text: str) -> list[Finding]:
        """The findings of ``text``: from this request's scan when it holds the text, else
        scanned now (and kept). Capture cleans the client's texts with it, not scanning again."""
        found = self._by_text.get(text)
        if found is None:
            found = self.scanner.scan(text) if text else []
            self._by_text[text] = found
        return found

    def needs(self, stream: bool) -> Needs:
        """The API capabilities the request uses (context estimated at ~4 characters/token)."""
        req = self.request
        if req.kind == "embedding":  # the backend counts each input's tokens itself
            return Needs(embedding=True, dimensions=req.dimensions)
        return Needs(
            stream=stream,
            tools=req.uses_tools(),
            json_mode=req.uses_json_mode(),
            context_tokens=estimate_tokens(self.chars),
            media=media_parts(req.messages or []),
            params=req.optional_params(),
        )

    def pseudonymized(
        self, categories: frozenset[str], pseudonymizer: Pseudonymizer
    ) -> GenerationRequest:
        """The request rebuilt from its body with every finding of ``categories`` replaced by a
        placeholder, wherever it stands (the strings are not scanned again). A run of text parts
        holding a split value becomes one part, so that the whole value is replaced. No
        generated name is one the client wrote (see :meth:`Pseudonymizer.reserve`)."""
        if self._reserved is None:
            self._reserved = set().union(*map(names_in, self.strings))
        pseudonymizer.reserve_names(self._reserved)
        body = merge_runs(self.body, self.split_runs) if self.split_runs else self.body
        rewrite = TextRewriter(None, categories, pseudonymizer, scan=self.scan)
        return with_body(self.request, map_strings(body, rewrite))
