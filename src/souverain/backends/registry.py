"""The backend registry: backend types are looked up by their ``type`` name, never branched on.

Built-in types register here; third-party packages can add types through the entry point group
``souverain.backends`` (each entry point names a :class:`~souverain.backends.base.Backend`
subclass with ``type_name`` and ``config_model``).
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel

from souverain.backends.base import Backend
from souverain.backends.llamacpp import LlamaCppBackend
from souverain.backends.openai_compat import OpenAIBackend

REGISTRY: dict[str, type[Backend]] = {
    LlamaCppBackend.type_name: LlamaCppBackend,
    OpenAIBackend.type_name: OpenAIBackend,
}


def _load_plugins() -> None:
    for ep in entry_points(group="souverain.backends"):
        cls = ep.load()
        REGISTRY.setdefault(cls.type_name, cls)


_load_plugins()


def backend_config_models() -> list[type[BaseModel]]:
    return [cls.config_model for cls in REGISTRY.values()]


def create_backend(config: Any) -> Backend:
    return REGISTRY[config.type](config)
