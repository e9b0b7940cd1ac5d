"""deploy/compose.yaml: three gateway replicas behind a real load balancer (HAProxy, whose config
HAProxy itself checks), PostgreSQL and Redis, secrets only from the environment."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from souverain.config import load_config
from tests.deploy.conftest import DEPLOY, need_tool

COMPOSE = DEPLOY / "compose.yaml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"gateway", "lb", "postgres", "redis"}
    gw = services["gateway"]
    assert gw["deploy"]["replicas"] == 3
    assert "ports" not in gw, "replicas are reached through the load balancer only"
    assert gw["build"]["dockerfile"] == "Dockerfile"
    assert (DEPLOY / gw["build"]["context"] / "Dockerfile").is_file()
    assert gw["read_only"] is True and gw["cap_drop"] == ["ALL"]
    assert {d: c["condition"] for d, c in gw["depends_on"].items()} == {
        "postgres": "service_healthy",
        "redis": "service_healthy",
    }
    assert services["lb"]["image"].startswith("haproxy:")
    assert services["lb"]["ports"] == ["8000:8000"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")


def test_gateway_config_is_mounted_and_valid(compose: dict[str, Any]) -> None:
    gw = compose["services"]["gateway"]
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in gw["volumes"])
    (source,) = [
        s for s, target in mounts.items() if target == gw["environment"]["SOUVERAIN_CONFIG"]
    ]
    cfg = load_config(DEPLOY / source)
    # the config's hosts are the Compose service names
    assert cfg.ledger.url and "@postgres:5432/" in cfg.ledger.url
    for key in cfg.api_keys:
        if key.env:
            assert key.env in gw["environment"], f"{key.env} is not passed to the gateway"


def test_secrets_come_from_the_environment(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for var, value in (service.get("environment") or {}).items():
            if re.search(r"KEY|PASSWORD|TOKEN|SECRET", var):
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)), (
                    f"{name}.{var}: a secret must be a required ${{VAR:?...}} from deploy/.env"
                )
    assert "deploy/.env" in (DEPLOY.parent / ".gitignore").read_text()


def test_haproxy_config_is_valid_and_health_checks_readyz(compose: dict[str, Any]) -> None:
    text = (DEPLOY / "haproxy.cfg").read_text()
    assert "option httpchk GET /readyz" in text
    assert re.search(r"server-template \w+ \d+ gateway:8000 check", text)
    haproxy = need_tool("haproxy")
    out = subprocess.run(
        [haproxy, "-c", "-f", str(DEPLOY / "haproxy.cfg")], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_docker_compose_config_renders() -> None:
    """Where a Docker Compose client exists (no daemon is needed to render)."""
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run([docker, "compose", "version"], capture_output=True).returncode
    ):
        pytest.skip("no 'docker compose' client on this machine")
    env = {**os.environ, "POSTGRES_PASSWORD": "x", "SOUVERAIN_ADMIN_KEY": "y"}
    out = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert '"replicas": 3' in out.stdout
