"""What a valid configuration would still trip on, on this machine as it is now.

``check-config`` prints every problem (exit 1) and warning; ``serve`` refuses to start on a model
problem (exit 4) before it binds a port, and prints what it uses. These checks are local (files,
environment variables, installed packages): nothing is contacted.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from typing import Any

#: SHA-256 of the empty string: a key no client can send (an empty bearer token is refused)
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@dataclass(frozen=True, slots=True)
class Finding:
    where: str  # the config field, e.g. backends[0].model
    message: str  # what is wrong and how to fix it

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def model_problems(cfg: Any) -> list[Finding]:
    """Backends whose model cannot be loaded here: each backend's config says what it needs
    (``model_problems()``; an embedded llama.cpp backend: a GGUF file or the embedded model's
    package)."""
    return [
        Finding(f"backends[{i}].{field}", message)
        for i, b in enumerate(cfg.backends)
        for field, message in b.model_problems()
    ]


def key_problems(cfg: Any) -> list[Finding]:
    """Client keys that can never match: an unset variable, an empty key, the same key twice."""
    from souverain.api.auth import hash_key

    out = []
    digests: list[tuple[int, str]] = []
    for i, k in enumerate(cfg.api_keys):
        where = f"api_keys[{i}]"
        if k.env:
            value = os.environ.get(k.env, "").strip()
            if not value:
                out.append(
                    Finding(
                        f"{where}.env",
                        f"key {k.name}: environment variable {k.env} is not set, so the key is "
                        f"disabled (every request with it gets 401); set it, e.g. "
                        f"export {k.env}=$(souverain keys new {k.name} | sed -n 2p)",
                    )
                )
                continue
            digests.append((i, hash_key(value)))
        elif k.sha256:
            if k.sha256 == EMPTY_SHA256:
                out.append(
                    Finding(
                        f"{where}.sha256",
                        f"key {k.name}: this is the SHA-256 of an empty key, which no client can "
                        f"send; create one with souverain keys new {k.name}",
                    )
                )
                continue
            digests.append((i, k.sha256))
    seen = Counter(d for _, d in digests)
    for i, d in digests:
        if seen[d] > 1 and i != min(j for j, e in digests if e == d):
            first = min(j for j, e in digests if e == d)
            out.append(
                Finding(
                    f"api_keys[{i}]",
                    f"key {cfg.api_keys[i].name} is the same key as api_keys[{first}] "
                    f"({cfg.api_keys[first].name}): only one of them can ever match; give each "
                    "client its own key",
                )
            )
    return out


def use_case_problems(cfg: Any) -> list[Finding]:
    """Use cases that are valid but cannot do what they say: a capture that never captures (a
    sensitive policy without ``capture.allow_sensitive``), and a data action left at its
    ``keep-local`` default with no self-hosted candidate, so that every request carrying such
    data is refused (an explicit one is refused at config load)."""
    from souverain.capture.policy import capture_allowed
    from souverain.config.models import CATEGORY_FIELDS

    out = []
    for i, uc in enumerate(cfg.use_cases):
        where = f"use_cases[{i}]"
        if uc.capture.enabled:
            allowed, why = capture_allowed(uc)
            if not allowed:
                out.append(
                    Finding(
                        f"{where}.capture.allow_sensitive",
                        f"capture.enabled is true but nothing will ever be captured ({why}); "
                        "set capture.allow_sensitive: true (detected values are replaced before "
                        "storage) or capture.enabled: false",
                    )
                )
        candidates = [cfg.backend(name) for name in uc.backends]
        if any(b.self_hosted for b in candidates):
            continue
        for field in CATEGORY_FIELDS.values():
            explicit = uc.policy.model_fields_set
            if field in explicit or (field == "media" and "personal_data" not in explicit):
                continue  # an explicit keep-local is refused at load; media follows personal_data
            action = uc.policy.media_action if field == "media" else getattr(uc.policy, field)
            if action == "keep-local":
                out.append(
                    Finding(
                        f"{where}.policy.{field}",
                        f"use case {uc.name}: {field} is keep-local by default but no candidate "
                        f"({', '.join(uc.backends)}) is self_hosted, so every request with such "
                        f"data is refused; set {field} explicitly (block, or pseudonymize/allow "
                        "if it may leave) or add a self-hosted backend",
                    )
                )
    return out


def ledger_problems(cfg: Any) -> list[Finding]:
    from souverain.ledger.engine import driver_problem

    if not cfg.ledger.enabled:
        return []
    problem = driver_problem(cfg.ledger.url)
    return [Finding("ledger.url", problem)] if problem else []


def problems(cfg: Any) -> list[Finding]:
    """Everything that makes ``serve`` fail, or a configured part never work, here and now."""
    return model_problems(cfg) + key_problems(cfg) + use_case_problems(cfg) + ledger_problems(cfg)


def warnings(cfg: Any) -> list[str]:
    """Valid and usable, but something will not work until it is fixed (never fatal): a remote
    backend whose key variable is unset counts as unhealthy and is skipped; a checkpoint signing
    key that cannot be read keeps ``serve`` from starting."""
    out = []
    for b in cfg.backends:
        env = getattr(b, "api_key_env", None)
        if env and not os.environ.get(env):
            out.append(
                f"backend {b.name}: environment variable {env} is not set (it will count as "
                "unhealthy and be skipped)"
            )
    # a missing model file and unusable client keys are problems (above), not warnings
    checkpoints = cfg.ledger.checkpoints
    if cfg.ledger.enabled and checkpoints is not None:
        from souverain.ledger.checkpoint import CheckpointError, load_key

        try:
            load_key(checkpoints.key_file)
        except CheckpointError as exc:
            out.append(f"ledger.checkpoints: {exc} (serve refuses to start without it)")
    return out


def model_loads(cfg: Any) -> list[str]:
    """What ``serve`` is about to load, for its start-up lines (and whether the embedded model is
    first written to the cache); remote backends are named as reached, not loaded. Each
    backend's config says its line (``load_line()``)."""
    return [b.load_line() for b in cfg.backends]
