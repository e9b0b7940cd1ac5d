"""Use cases and planted values shared by the capture tests."""

from __future__ import annotations

import random
from typing import Any

from stdnum import iban, luhn
from stdnum.fr import nir

from souverain.config.models import UseCaseConfig
from souverain.detect.corpus.values import card_value, fr_nir_value, iban_value, secret_value


def use_case(name: str = "support", **capture: Any) -> UseCaseConfig:
    """A use case with capture on (``allow_sensitive`` too unless given) and the policy's
    actions from ``policy=...``."""
    policy = capture.pop("policy", {})
    settings = {"enabled": True, "allow_sensitive": True, **capture}
    return UseCaseConfig(name=name, backends=["local"], policy=policy, capture=settings)


def planted(seed: int = 7) -> dict[str, str]:
    """One valid value of each kind (checked with python-stdnum), as spelled in the text."""
    rng = random.Random(seed)
    values = {
        "email": "jeanne.martin@exemple.fr",
        "iban": iban_value(rng)[0],
        "nir": fr_nir_value(rng)[0],
        "card": card_value(rng)[0],
        "secret": secret_value(rng)[0],
    }
    assert iban.is_valid(values["iban"])
    assert nir.is_valid(values["nir"])
    assert luhn.is_valid("".join(c for c in values["card"] if c.isdigit()))
    return values


def spellings(value: str) -> set[str]:
    """The value as written and without its separators (either must never be stored)."""
    compact = "".join(c for c in value if c.isalnum())
    return {value, compact, compact.lower(), compact.upper()}


def chat(values: dict[str, str], canary: str = "ZEBRACANARY") -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": f"You help {canary} customers."},
        {
            "role": "user",
            "name": "jeanne_martin",
            "content": [
                {
                    "type": "text",
                    "text": f"Mon email est {values['email']}, IBAN {values['iban']}.",
                },
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": "lookup",
                        "arguments": f'{{"nir": "{values["nir"]}", "card": "{values["card"]}"}}',
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": f"key {values['secret']}"},
        {"role": "user", "content": f"Confirm for {values['email']} please."},
    ]
