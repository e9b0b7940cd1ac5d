"""The backend registry: backend types are looked up by their ``type`` name, never branched on.

The built-in types are named in :mod:`souverain.backends.builtin`; third-party packages add types
through the entry point group ``souverain.backends`` (each entry point names a
:class:`~souverain.backends.base.Backend` subclass with ``type_name`` and ``config_model``).
Loaded on first use, like every plug-in (:mod:`souverain.plugins`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from souverain.backends.base import Backend
from souverain.plugins import Registry


def _by_type_name(name: str, obj: object) -> tuple[str, type[Backend]]:
    if not (isinstance(obj, type) and issubclass(obj, Backend)):
        raise TypeError(f"entry point souverain.backends:{name} is not a Backend subclass")
    return obj.type_name, obj


#: Backend classes by ``type``.
REGISTRY: Registry[type[Backend]] = Registry(
    "souverain.backends", "souverain.backends.builtin:BUILTIN", entry_point=_by_type_name
)


def backend_config_models() -> list[type[BaseModel]]:
    return [cls.config_model for cls in REGISTRY.values()]


def create_backend(config: Any) -> Backend:
    return REGISTRY[config.type](config)
