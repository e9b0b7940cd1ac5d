"""Turn one served request into a capture item, applying the use case's data actions first.

What is replaced. Every detected value of a category whose action is not ``allow``
(``pseudonymize``, ``keep-local`` or ``block``) is replaced by a typed placeholder
(``<EMAIL_1>``, ``<IBAN_2>``, ...), in every string of the request: message texts, tool-call
arguments, the prompt, and the generation parameters (tool schemas, ``response_format``, ``stop``).
**Secrets are always replaced**, even with ``secrets: allow``: a key sent to a backend the policy
allows is not a reason to keep a copy of it at rest for 30 days, and no workload needs the real
key to be replayed. The answer, when given, is replaced with the same placeholders (one
:class:`~souverain.policy.pseudonymize.Pseudonymizer` per item), so prompt and answer still match.
The mapping placeholder -> value is dropped with the item's pseudonymizer: it is never stored,
and a capture cannot be turned back into the original request.

What is not captured (``prepare_capture`` returns ``None``):

* a use case :func:`~souverain.capture.policy.capture_allowed` refuses;
* a request carrying a confidential marker when ``confidential`` is not ``allow``: the marker only
  labels the text (``strictement confidentiel``), the confidential content is the rest of it, so
  replacing the marker would store the content; the only faithful way is not to store it;
* a completion prompt given as token ids: its text cannot be scanned.

What is dropped from a chat message: everything but ``role``, ``content``, ``refusal``,
``tool_calls``, ``tool_call_id`` and ``function_call`` (so a participant ``name`` is not kept),
and non-text content parts (images, audio, files) become ``{"type": ..., "omitted": true}``.
Detection is only as good as the scanner: a value the detectors miss is stored as it is.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from souverain.backends.base import GENERATION_PARAMS
from souverain.capture.policy import actions, capture_allowed
from souverain.detect import Finding, Scanner
from souverain.ledger.record import as_utc, utcnow
from souverain.policy.pseudonymize import TextRewriter

CaptureKind = Literal["chat", "completion"]
_MESSAGE_KEYS = ("role", "content", "refusal", "tool_calls", "tool_call_id", "function_call")
_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})


@dataclass(slots=True)
class CapturedItem:
    """One captured request, already cleaned: ``payload`` and ``answer`` hold placeholders, never
    the replaced values. ``payload`` is a JSON-serialisable request body: ``messages`` (chat) or
    ``prompt`` (completion), the :data:`~souverain.backends.base.GENERATION_PARAMS` that were set, and ``stream``."""

    use_case: str
    request_id: str
    kind: CaptureKind
    payload: dict[str, Any]
    #: Data types detected in the request and how many of each (as in the ledger): never values.
    data_types: dict[str, int]
    expires_at: datetime
    answer: str | None = None
    backend: str | None = None
    captured_at: datetime = field(default_factory=utcnow)
    #: The use case's ``capture.max_items`` (the store keeps at most that many); None when read.
    max_items: int | None = None
    #: Uniform random key for bottom-k sampling (see :mod:`souverain.capture.store`).
    sample_key: float = field(default_factory=random.random)
    #: Storage id (set on items read back).
    id: int | None = None


def replaced_categories(use_case: Any) -> frozenset[str]:
    """The finding categories replaced before storage: those whose action is not ``allow``,
    and ``secret`` always."""
    return frozenset({cat for cat, action in actions(use_case).items() if action != "allow"}) | {
        "secret"
    }


class _Cleaner(TextRewriter):
    """The request's rewriter (one pseudonymizer per item, every text scanned once), walking
    JSON values and messages; ``found`` holds everything it saw."""

    def value(self, value: Any) -> Any:
        """Any JSON value with every string rewritten (keys are left as they are)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {str(k): self.value(v) for k, v in value.items()}
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.text(str(value))

    def message(self, message: Any) -> Any:
        if not isinstance(message, dict):
            return self.value(message)
        out: dict[str, Any] = {}
        for key in _MESSAGE_KEYS:
            if key not in message:
                continue
            value = message[key]
            if key == "content" and isinstance(value, list):
                out[key] = [self._part(p) for p in value]
            else:
                out[key] = self.value(value)
        return out

    def _part(self, part: Any) -> Any:
        if isinstance(part, dict) and part.get("type") not in _TEXT_PART_TYPES:
            return {"type": str(part.get("type")), "omitted": True}
        return self.value(part)


#: a prefix of a known value at least this long is treated as that value (a model that stops
#: half-way through an IBAN still repeats part of it; the fragment fails every checksum)
MIN_FRAGMENT = 8


def scrub_fragments(text: str, pseudonymizer: Any) -> str:
    """Replace leading fragments of values replaced elsewhere in the item (truncated copies in
    the answer) by the same placeholder."""
    for placeholder, original in pseudonymizer.mapping.items():
        if len(original) <= MIN_FRAGMENT:
            continue
        for end in range(len(original) - 1, MIN_FRAGMENT - 1, -1):
            fragment = original[:end]
            if fragment[-1].isspace():
                continue
            if fragment in text:
                text = text.replace(fragment, placeholder)
    return text


def _kind(request: Any) -> CaptureKind:
    if isinstance(request, str):
        return "completion"
    if isinstance(request, list) and all(isinstance(m, dict) for m in request):
        return "chat"
    return "completion"


def prepare_capture(
    use_case: Any,
    request: list[dict[str, Any]] | str | list[str],
    scanner: Scanner,
    *,
    request_id: str,
    backend: str | None = None,
    answer: str | None = None,
    params: dict[str, Any] | None = None,
    stream: bool = False,
    now: datetime | None = None,
    scan: Callable[[str], list[Finding]] | None = None,
) -> CapturedItem | None:
    """The capture item for one served request of ``use_case`` (a ``UseCaseConfig``), or
    ``None`` when it must not be captured (see the module docstring).

    ``request``: the chat ``messages`` or the completion ``prompt`` as the client sent them
    (before any pseudonymisation; the input is not modified). ``params``: the request's
    generation parameters (only :data:`~souverain.backends.base.GENERATION_PARAMS` are kept).
    ``answer``: the answer text, stored with the same replacements. ``scanner``: the gateway's
    scanner (its confidential markers). ``scan``: the request's own scan results by text (the
    pipeline's :meth:`~souverain.policy.content.ContentScan.scan`), so that texts placement
    scanned are not scanned again.
    CPU-bound (it scans every text): run it off the event loop for long requests."""
    allowed, _ = capture_allowed(use_case)
    if not allowed:
        return None
    kind = _kind(request)
    if kind == "completion" and not (
        isinstance(request, str) or all(isinstance(p, str) for p in request)
    ):
        return None  # token ids: cannot be scanned
    categories = replaced_categories(use_case)
    cleaner = _Cleaner(scanner, categories, scan=scan)
    payload: dict[str, Any] = {}
    if kind == "chat":
        payload["messages"] = [cleaner.message(m) for m in request]
    else:
        payload["prompt"] = cleaner.value(request)
    for name in GENERATION_PARAMS:
        value = (params or {}).get(name)
        if value is not None:
            payload[name] = cleaner.value(value)
    payload["stream"] = bool(stream)
    data_types = dict(sorted(Counter(f.type for f in cleaner.found).items()))
    clean_answer = (
        scrub_fragments(cleaner.text(answer), cleaner.pseudonymizer) if answer is not None else None
    )
    if "confidential" in categories and any(f.category == "confidential" for f in cleaner.found):
        return None
    captured_at = as_utc(now) if now is not None else utcnow()
    return CapturedItem(
        use_case=use_case.name,
        request_id=request_id,
        kind=kind,
        payload=payload,
        data_types=data_types,
        answer=clean_answer,
        backend=backend,
        captured_at=captured_at,
        expires_at=captured_at + timedelta(days=use_case.capture.retention_days),
        max_items=use_case.capture.max_items,
    )


__all__ = ["CaptureKind", "CapturedItem", "prepare_capture", "replaced_categories"]
