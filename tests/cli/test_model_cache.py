"""The first start's model cache write (about 250 MB) shows a progress bar and says where it
writes (issue #16 item 6); a cached model is not written again."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import pytest
from rich.console import Console

from souverain.backends.embedded import embedded_model_path, expected_sha256, sha256_file
from souverain.cli import common
from souverain.config import default_config


def test_first_start_writes_the_model_with_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOUVERAIN_CACHE_DIR", str(tmp_path))
    seen: list[tuple[int, int]] = []
    path = embedded_model_path(lambda done, total, _: seen.append((done, total)))
    assert sha256_file(path) == expected_sha256() and path.is_relative_to(tmp_path)
    assert seen and seen[-1][0] == seen[-1][1] == path.stat().st_size
    assert all(a[0] < b[0] for a, b in itertools.pairwise(seen))  # bytes, as written
    assert not list(tmp_path.rglob("*.partial"))

    path.unlink()
    out = io.StringIO()
    monkeypatch.setattr(common, "err", Console(file=out, width=200))
    common.prepare_models(default_config())
    assert "first start: writing the model to" in out.getvalue() and str(path) in out.getvalue()
    assert sha256_file(path) == expected_sha256()
    again = io.StringIO()
    monkeypatch.setattr(common, "err", Console(file=again, width=200))
    common.prepare_models(default_config())  # cached: nothing written, nothing printed
    assert again.getvalue() == ""
