"""Rendering the deployment files offline: kubectl (kustomize), HAProxy's config check, and
``docker compose config`` where that client works. Missing kubectl or haproxy: skipped with the
reason, except in CI (``CI=true``; ``.ci/run`` installs them), where the tests fail."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def need_tool(name: str) -> str:
    found = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if os.access(p, os.X_OK)), None
    )
    if found:
        return found
    reason = f"{name} is not installed"
    if os.environ.get("CI"):
        pytest.fail(reason + " (CI is set: .ci/run installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def rendered() -> list[dict[str, Any]]:
    """``kubectl kustomize deploy/k8s`` as a list of objects."""
    kubectl = need_tool("kubectl")
    out = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / "k8s")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]
