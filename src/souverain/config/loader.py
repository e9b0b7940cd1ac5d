"""Load, validate and summarise a configuration file.

A bad file raises :class:`ConfigError`, whose message names the file and every bad field by its
path (``use_cases[1].policy.allowed_jurisdictions[0]: unknown country code 'XY' ...``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from souverain.backends.base import BackendMetadata
from souverain.config.models import CATEGORY_FIELDS
from souverain.config.schema import Config
from souverain.jurisdictions import GROUPS, UNKNOWN, normalise_code

EMBEDDED_BACKEND = "gemma-3-270m"
DEFAULT_USE_CASE = "default"
EMBEDDING_BACKEND = "minilm-l6-v2"
EMBED_USE_CASE = "embed"


class ConfigError(Exception):
    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = [f"invalid configuration in {source}:"]
        lines += [f"  {path or '<top level>'}: {msg}" for path, msg in problems]
        super().__init__("\n".join(lines))


def _loc_to_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = str(part)
    return out


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    # pydantic inserts the discriminator tag (e.g. 'llamacpp') into union locations: drop it.
    from souverain.backends.registry import REGISTRY

    return tuple(p for p in loc if not (isinstance(p, str) and p in REGISTRY and p != loc[0]))


def _pydantic_problems(err: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for e in err.errors():
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "missing":
            msg = "required field is missing"
        elif e["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; see docs/config.md)"
        problems.append((_loc_to_path(_clean_loc(tuple(e["loc"]))), msg))
    return problems


def semantic_problems(cfg: Config) -> list[tuple[str, str]]:
    """Cross-field checks pydantic cannot express field by field."""
    from souverain.policy.rules import static_exclusion

    problems: list[tuple[str, str]] = []
    names: dict[str, int] = {}
    for i, b in enumerate(cfg.backends):
        if b.name in names:
            problems.append((f"backends[{i}].name", f"duplicate backend name {b.name!r}"))
        names[b.name] = i
    uc_names: set[str] = set()
    for i, uc in enumerate(cfg.use_cases):
        base = f"use_cases[{i}]"
        if uc.name in uc_names:
            problems.append((f"{base}.name", f"duplicate use case name {uc.name!r}"))
        uc_names.add(uc.name)
        known = []
        for j, bname in enumerate(uc.backends):
            if bname not in names:
                problems.append(
                    (
                        f"{base}.backends[{j}]",
                        f"use case {uc.name!r}: unknown backend {bname!r} "
                        f"(defined: {', '.join(names) or 'none'})",
                    )
                )
            else:
                known.append(cfg.backends[names[bname]])
        if len(set(uc.backends)) != len(uc.backends):
            problems.append(
                (f"{base}.backends", f"use case {uc.name!r}: a backend is listed twice")
            )
        if known:
            reasons = [static_exclusion(uc.policy, BackendMetadata.from_config(b)) for b in known]
            if all(r is not None for r in reasons):
                fields = sorted({r[0] for r in reasons if r})
                detail = "; ".join(
                    f"{b.name}: {r[1]}" for b, r in zip(known, reasons, strict=True) if r
                )
                for field in fields:
                    problems.append(
                        (
                            f"{base}.policy.{field}",
                            f"use case {uc.name!r}: contradictory policy, no candidate backend "
                            f"can ever serve it ({detail})",
                        )
                    )
        for field in CATEGORY_FIELDS.values():
            action = getattr(uc.policy, field)
            explicit = field in uc.policy.model_fields_set  # defaults refuse at run time instead
            if (
                explicit
                and action == "keep-local"
                and known
                and not any(b.self_hosted for b in known)
            ):
                problems.append(
                    (
                        f"{base}.policy.{field}",
                        f"use case {uc.name!r}: {field}: keep-local but no candidate is "
                        "self_hosted, so every request with such data would be refused; "
                        "use block to say so explicitly",
                    )
                )
    if not cfg.ledger.enabled:
        remote = [
            f"backends[{i}] {b.name!r}" for i, b in enumerate(cfg.backends) if not b.self_hosted
        ]
        if remote:
            problems.append(
                (
                    "ledger.enabled",
                    "serving without a record is allowed only when every backend is self_hosted; "
                    f"not self_hosted: {', '.join(remote)}",
                )
            )
    for i, key in enumerate(cfg.api_keys):
        base = f"api_keys[{i}]"
        if (key.sha256 is None) == (key.env is None):
            problems.append(
                (base, "give exactly one of sha256 (hex digest) or env (variable name)")
            )
        for j, granted in enumerate(key.use_cases):
            if granted != "*" and granted not in uc_names:
                problems.append((f"{base}.use_cases[{j}]", f"unknown use case {granted!r}"))
    for i, marker in enumerate(cfg.confidential_markers):
        if marker.startswith("re:"):
            import re

            try:
                re.compile(marker[3:])
            except re.error as exc:
                problems.append((f"confidential_markers[{i}]", f"invalid regex: {exc}"))
    return problems


def parse_config(data: Any, source: str = "<config>") -> Config:
    if not isinstance(data, dict):
        raise ConfigError(source, [("", "the file must be a YAML mapping (key: value)")])
    try:
        cfg = Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(source, _pydantic_problems(err)) from None
    problems = semantic_problems(cfg)
    if problems:
        raise ConfigError(source, problems)
    return cfg


def load_config(path: str | os.PathLike[str] | None) -> Config:
    """Load ``path``; with None, ``$SOUVERAIN_CONFIG`` or else the built-in default config."""
    if path is None:
        env = os.environ.get("SOUVERAIN_CONFIG")
        if not env:
            return default_config()
        path = env
    p = Path(path)
    source = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, [("", "file not found")]) from None
    except OSError as exc:
        raise ConfigError(source, [("", f"cannot read: {exc.strerror}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(source, [(where, f"not valid YAML: {exc}")]) from None
    return parse_config(data, source)


def default_config() -> Config:
    """The configuration used with no file: the embedded chat model as the ``default`` use case
    and the embedded embedding model as the ``embed`` use case."""
    country = os.environ.get("SOUVERAIN_SITE_COUNTRY", "").strip() or UNKNOWN
    try:  # never guess: a wrong country would mislabel every request's jurisdiction and carbon
        country = normalise_code(country)
        if country in GROUPS:
            raise ValueError("a group")
    except ValueError:
        raise ConfigError(
            "the environment",
            [
                (
                    "SOUVERAIN_SITE_COUNTRY",
                    f"{country!r} is not a country code: use the site's ISO 3166-1 alpha-2 "
                    "code (FR, DE, ...), or unset it",
                )
            ],
        ) from None
    return parse_config(
        {
            "site": {"country": country},
            "backends": [
                {
                    "name": EMBEDDED_BACKEND,
                    "type": "llamacpp",
                    "model": "embedded",
                    "description": "Gemma 3 270M (Q4_K_M), embedded, running on this machine",
                    # a 270M base model repeats itself long before 1,024 tokens
                    "default_max_tokens": 256,
                    "self_hosted": True,
                    "operator": "this machine",
                    "operator_jurisdiction": country,
                    "location": country,
                    "open_weights": True,
                },
                {
                    "name": EMBEDDING_BACKEND,
                    "type": "onnx",
                    "model": "embedded",
                    "description": "all-MiniLM-L6-v2 (int8 ONNX), embedded, running on this machine",
                    "self_hosted": True,
                    "operator": "this machine",
                    "operator_jurisdiction": country,
                    "location": country,
                    "open_weights": True,
                },
            ],
            "use_cases": [
                {
                    "name": DEFAULT_USE_CASE,
                    "description": "General use on the embedded model",
                    "backends": [EMBEDDED_BACKEND],
                },
                {
                    "name": EMBED_USE_CASE,
                    "description": "Embeddings (POST /v1/embeddings) on the embedded MiniLM model",
                    "backends": [EMBEDDING_BACKEND],
                },
            ],
        },
        "<built-in default>",
    )


def config_hash(cfg: Config) -> str:
    """A stable SHA-256 of the validated configuration (for audit records)."""
    return hashlib.sha256(cfg.model_dump_json().encode()).hexdigest()
