"""Run llama-cpp-python's own OpenAI-compatible server (``llama_cpp.server``), unchanged, as the
real third-party upstream in tests — with the same AMX safeguard souverain applies (weight
repacking off on llama.cpp builds with AMX, which crash on some CPUs)."""

from __future__ import annotations

import sys

import llama_cpp
import llama_cpp.llama as llama_module

from souverain.backends.llamacpp import _amx_build

if __name__ == "__main__":
    if _amx_build():
        original = llama_module.llama_cpp.llama_model_default_params

        def params():  # type: ignore[no-untyped-def]
            p = original()
            p.use_extra_bufts = False
            return p

        llama_module.llama_cpp.llama_model_default_params = params
    from llama_cpp.server.__main__ import main

    sys.argv = ["llama_cpp.server", *sys.argv[1:]]
    assert llama_cpp.__version__
    main()
