"""Configuration: typed models, loading and validation.

Names are resolved lazily so that ``souverain.config.models`` can be imported by backend modules
without pulling in the loader (which needs the backend registry).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from souverain.config.loader import (
        DEFAULT_USE_CASE,
        EMBEDDED_BACKEND,
        ConfigError,
        config_hash,
        default_config,
        load_config,
        parse_config,
    )
    from souverain.config.schema import Config

_LOADER = {
    "DEFAULT_USE_CASE",
    "EMBEDDED_BACKEND",
    "ConfigError",
    "config_hash",
    "default_config",
    "load_config",
    "parse_config",
}
__all__ = [
    "DEFAULT_USE_CASE",
    "EMBEDDED_BACKEND",
    "Config",
    "ConfigError",
    "config_hash",
    "default_config",
    "load_config",
    "parse_config",
]


def __getattr__(name: str) -> Any:
    if name in _LOADER:
        from souverain.config import loader

        return getattr(loader, name)
    if name == "Config":
        from souverain.config.schema import Config

        return Config
    raise AttributeError(name)
