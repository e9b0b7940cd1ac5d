"""Configuration: typed models, loading and validation."""

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
