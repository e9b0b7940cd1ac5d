"""Where souverain keeps its files: the user's data and cache directories.

``SOUVERAIN_DATA_DIR`` and ``SOUVERAIN_CACHE_DIR`` override the platform defaults
(platformdirs: ``~/.local/share/souverain`` and ``~/.cache/souverain`` on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def data_dir() -> Path:
    env = os.environ.get("SOUVERAIN_DATA_DIR")
    path = Path(env) if env else Path(platformdirs.user_data_dir("souverain"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    env = os.environ.get("SOUVERAIN_CACHE_DIR")
    path = Path(env) if env else Path(platformdirs.user_cache_dir("souverain"))
    path.mkdir(parents=True, exist_ok=True)
    return path
