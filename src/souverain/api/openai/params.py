"""Documented OpenAI request parameters the gateway does not carry: a client that sets one gets
400 ``unsupported_parameter`` naming it, never an answer that silently ignored it. (Unknown
fields -- not OpenAI's -- are still accepted and ignored; the optional sampling parameters a
backend may lack are decided by placement: ``backends.base.OPTIONAL_PARAMS``.)"""

from __future__ import annotations

from typing import Any

from souverain.api.errors import APIError

#: chat completion fields that change the answer, or promise something, that no backend here gives
UNSUPPORTED_CHAT: dict[str, str] = {
    "functions": "functions and function_call are deprecated and not supported: use tools",
    "function_call": "functions and function_call are deprecated and not supported: "
    "use tool_choice",
    "audio": "audio output is not supported",
    "prediction": "predicted outputs (prediction) are not supported",
    "web_search_options": "web search is not supported",
    "reasoning_effort": "reasoning_effort is not supported",
    "verbosity": "verbosity is not supported",
}
#: values of these fields that ask for nothing the gateway cannot do
NEUTRAL: dict[str, tuple[Any, ...]] = {
    "store": (False,),
    "modalities": (["text"],),
    "service_tier": ("auto", "default"),
}
REASONS: dict[str, str] = {
    "store": "stored completions (store: true) are not supported: nothing is kept for "
    "distillation or evals (the ledger keeps no prompt)",
    "modalities": "only the text modality is supported",
    "service_tier": "service tiers other than auto/default are not supported",
}


def check_documented(fields: dict[str, Any], table: dict[str, str] = UNSUPPORTED_CHAT) -> None:
    """Raise the 400 for the first documented parameter of ``fields`` (the wire model's extra
    fields) set to a value the gateway cannot honour; null, false and empty values pass."""
    for name, value in fields.items():
        if value in (None, False, [], {}, ""):
            continue
        if name in table:
            raise APIError(400, table[name], code="unsupported_parameter", param=name)
        if name in NEUTRAL and value not in NEUTRAL[name]:
            raise APIError(400, REASONS[name], code="unsupported_parameter", param=name)
