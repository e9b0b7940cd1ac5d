"""Config entries for tests: a backend's required sovereignty metadata, filled in once."""

from __future__ import annotations

from typing import Any

LOCAL_METADATA = {
    "self_hosted": True,
    "operator": "ACME IT",
    "operator_jurisdiction": "FR",
    "location": "FR",
    "open_weights": True,
}


def backend(name: str, **fields: Any) -> dict[str, Any]:
    """A backend entry: self-hosted in France with open weights unless ``fields`` say otherwise."""
    return {"name": name, **LOCAL_METADATA, **fields}


def embedded(name: str = "local", **fields: Any) -> dict[str, Any]:
    return backend(name, type="llamacpp", model="embedded", **fields)


def openai_upstream(name: str, base_url: str, **fields: Any) -> dict[str, Any]:
    return backend(name, type="openai", base_url=base_url, **{"model": "m", **fields})
