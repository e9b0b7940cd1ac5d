"""Whether a use case's traffic may be captured at all.

Capture is opt-in twice over for sensitive use cases. ``capture.enabled: true`` turns it on, but a
use case whose policy keeps any kind of data local (``keep-local``) or blocks it (``block``) is
still not captured unless ``capture.allow_sensitive: true`` is also set. The policy defaults are
``personal_data: keep-local``, ``secrets: block``, ``confidential: keep-local``, so **with the
default policy capture needs ``allow_sensitive: true``**: a use case handling sensitive data is
never captured by accident, only by someone who wrote both switches.

Even then every detected value whose action is not ``allow`` is replaced before storage (see
:mod:`souverain.capture.prepare`).
"""

from __future__ import annotations

from typing import Any

from souverain.config.models import CATEGORY_FIELDS

#: Policy field -> the finding category it acts on (text categories: media is never captured as
#: text, so it does not make a use case sensitive here).
ACTION_FIELDS: dict[str, str] = {
    name: cat for cat, name in CATEGORY_FIELDS.items() if cat != "media"
}
#: Data actions that make a use case sensitive for capture.
SENSITIVE_ACTIONS = frozenset({"keep-local", "block"})


def actions(use_case: Any) -> dict[str, str]:
    """Finding category -> the use case's data action for it."""
    return {cat: getattr(use_case.policy, name) for name, cat in ACTION_FIELDS.items()}


def capture_allowed(use_case: Any) -> tuple[bool, str]:
    """``(True, "")`` when requests of ``use_case`` (a ``UseCaseConfig``) may be captured, else
    ``(False, reason)``; the reason names the config fields to change."""
    capture = use_case.capture
    if not capture.enabled:
        return False, f"use case {use_case.name!r}: capture.enabled is false"
    if capture.allow_sensitive:
        return True, ""
    sensitive = [
        f"{name}: {getattr(use_case.policy, name)}"
        for name in ACTION_FIELDS
        if getattr(use_case.policy, name) in SENSITIVE_ACTIONS
    ]
    if sensitive:
        return False, (
            f"use case {use_case.name!r}: policy {', '.join(sensitive)} -- capture of a "
            "keep-local/block use case needs capture.allow_sensitive: true"
        )
    return True, ""


__all__ = ["ACTION_FIELDS", "SENSITIVE_ACTIONS", "actions", "capture_allowed"]
