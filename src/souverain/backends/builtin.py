"""The built-in backend types, by ``type`` name (loaded by the registry on first use)."""

from __future__ import annotations

from souverain.backends.base import Backend
from souverain.backends.llamacpp import LlamaCppBackend
from souverain.backends.onnx_embed import OnnxEmbeddingBackend
from souverain.backends.openai_compat import OpenAIBackend

BUILTIN: dict[str, type[Backend]] = {
    cls.type_name: cls for cls in (LlamaCppBackend, OpenAIBackend, OnnxEmbeddingBackend)
}
