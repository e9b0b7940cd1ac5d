"""docs/config.md documents every field of the config models, and every field it documents exists
(as tests/capture/test_docs.py does for the ledger schema)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from souverain.backends.registry import backend_config_models
from souverain.config.schema import Config

DOC = Path(__file__).resolve().parents[1] / "docs" / "config.md"


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> None:
    if model in seen:
        return
    seen.add(model)
    for f in model.model_fields.values():
        for t in _inner(f.annotation):
            _models(t, seen)


def _inner(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [t for a in getattr(annotation, "__args__", ()) for t in _inner(a)]


def field_names() -> set[str]:
    seen: set[type[BaseModel]] = set()
    _models(Config, seen)
    for m in backend_config_models():
        _models(m, seen)
    return {name for m in seen for name in m.model_fields}


def _row_names(text: str) -> set[str]:
    """The names in the first cell of every table row: `a`, `a.b`, `a`, `b`."""
    names: set[str] = set()
    for line in text.splitlines():
        m = re.match(r"\|\s*([^|]+?)\s*\|", line)
        if m is not None:
            for code in re.findall(r"`([^`]+)`", m.group(1)):
                names.update(code.split("."))
    return names


def documented() -> set[str]:
    """Names in a row's first cell, in a `##` heading, or keys of a `{a, b: 1}`
    shape in a table row (nested models documented inline)."""
    text = DOC.read_text()
    names = _row_names(text)
    for line in text.splitlines():
        if line.startswith("#"):
            names.update(w for code in re.findall(r"`([^`]+)`", line) for w in code.split("."))
        elif line.startswith("|"):
            for shape in re.findall(r"\{([^{}]*)\}", line):
                names.update(re.findall(r"([a-z_][a-z0-9_]*)\s*(?=[:,]|$)", shape))
    return names


def test_every_config_field_is_documented() -> None:
    missing = sorted(field_names() - documented())
    assert not missing, f"docs/config.md does not document: {missing}"


def test_every_documented_field_exists() -> None:
    unknown = sorted(_row_names(DOC.read_text()) - field_names())
    assert not unknown, f"docs/config.md documents fields no config model has: {unknown}"
