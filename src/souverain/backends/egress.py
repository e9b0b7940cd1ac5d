"""What leaves: the one function that builds the upstream body from a request.

:func:`egress_body` turns a :class:`~souverain.backends.base.GenerationRequest` into the
OpenAI-shaped body that goes upstream, from *every* field of the request (read generically from
the dataclass, so a field added later is sent, and therefore scanned, without anyone listing it);
only ``kind`` and ``request_id`` (the gateway's own bookkeeping) stay behind. The content policy
scans exactly this body (``souverain.policy.content``), pseudonymisation rewrites it and
:func:`with_body` turns the rewritten body back into a request. A backend then adds nothing but
its own configuration: the upstream model name, the stream flags and the spelling of the
max-tokens field (``backends/openai_compat.py``); the embedded llama.cpp backend renders its
prompt from the same (scanned, rewritten) request.
"""

from __future__ import annotations

from dataclasses import fields, replace
from functools import cache
from typing import Any

from souverain.backends.base import GenerationRequest

#: fields of GenerationRequest that never leave (the gateway's bookkeeping)
NOT_SENT = frozenset({"kind", "request_id", "extra"})
#: typed sampling parameters: numbers validated at the API, not text (never rewritten)
NUMERIC = frozenset(
    {
        "max_tokens",
        "temperature",
        "top_p",
        "seed",
        "dimensions",
        "presence_penalty",
        "frequency_penalty",
        "top_logprobs",
    }
)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, list | dict) and not value)


@cache
def _sent_fields(cls: type) -> tuple[str, ...]:
    """The fields of a request class that leave: every one but :data:`NOT_SENT` (read once per
    class, not once per request)."""
    return tuple(f.name for f in fields(cls) if f.name not in NOT_SENT)


def egress_body(request: GenerationRequest) -> dict[str, Any]:
    """Everything of ``request`` that would go upstream, as an OpenAI request body (without the
    backend's own fields). Empty fields are left out; ``extra`` is merged at the top level."""
    body: dict[str, Any] = {}
    for name in _sent_fields(type(request)):
        value = getattr(request, name)
        if not _empty(value):
            body[name] = value
    for key, value in request.extra.items():
        if not _empty(value) and key not in body:
            body[key] = value
    return body


def with_body(request: GenerationRequest, body: dict[str, Any]) -> GenerationRequest:
    """``request`` with the content of ``body`` (a rewritten :func:`egress_body`): every field is
    taken from the body, fields missing from it are emptied, nothing else is kept."""
    names = {f.name for f in fields(request)} - NOT_SENT
    changes: dict[str, Any] = {}
    for name in names:
        value = body.get(name)
        if name == "stop":
            value = value or []
        elif name in NUMERIC and not isinstance(value, int | float):
            value = None
        changes[name] = value
    changes["extra"] = {k: v for k, v in body.items() if k not in names}
    return replace(request, **changes)
