"""Run llama-cpp-python's own OpenAI-compatible server (``llama_cpp.server``), unchanged, as the
real third-party upstream in tests — with the same AMX safeguard souverain applies (weight
repacking off on llama.cpp builds with AMX, which crash on some CPUs)."""

from __future__ import annotations

import contextlib
import sys

from souverain.backends.llamacpp import _amx_build, without_weight_repacking

if __name__ == "__main__":
    from llama_cpp.server.__main__ import main

    sys.argv = ["llama_cpp.server", *sys.argv[1:]]
    with without_weight_repacking() if _amx_build() else contextlib.nullcontext():
        main()
