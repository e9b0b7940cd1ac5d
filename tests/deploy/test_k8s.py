"""deploy/k8s renders with kustomize, and what it renders is safe to run: probes on the right
endpoints, a non-root read-only container, secrets only by reference, a valid gateway config."""

from __future__ import annotations

import re
from typing import Any

from souverain.config import parse_config
from tests.deploy.conftest import one

SECRET_WORDS = re.compile(r"KEY|PASSWORD|TOKEN|SECRET", re.IGNORECASE)


def _container(rendered: list[dict[str, Any]]) -> dict[str, Any]:
    pod = one(rendered, "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return container


def test_renders_every_part(rendered: list[dict[str, Any]]) -> None:
    kinds = sorted(o["kind"] for o in rendered)
    assert kinds == sorted(
        [
            "ConfigMap",
            "Deployment",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "Service",
            "ServiceAccount",
        ]
    )


def test_probes(rendered: list[dict[str, Any]]) -> None:
    c = _container(rendered)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": 8000}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert "--port" in c["args"] and c["args"][c["args"].index("--port") + 1] == "8000"


def test_non_root_read_only(rendered: list[dict[str, Any]]) -> None:
    pod = one(rendered, "Deployment")["spec"]["template"]["spec"]
    c = _container(rendered)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's USER
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert pod["automountServiceAccountToken"] is False
    # the only writable places are volumes: the data directory and /tmp
    writable = {m["mountPath"] for m in c["volumeMounts"] if not m.get("readOnly")}
    assert writable == {"/var/lib/souverain", "/tmp"}


def test_resources(rendered: list[dict[str, Any]]) -> None:
    res = _container(rendered)["resources"]
    assert res["requests"]["cpu"] and res["requests"]["memory"]
    assert res["limits"]["memory"]


def test_secrets_only_by_reference(rendered: list[dict[str, Any]]) -> None:
    c = _container(rendered)
    env = {e["name"]: e for e in c["env"]}
    for name, entry in env.items():
        if SECRET_WORDS.search(name):
            assert "value" not in entry, f"{name} has a literal value"
            assert entry["valueFrom"]["secretKeyRef"]["name"] == "souverain-secrets"
    assert not any(o["kind"] == "Secret" for o in rendered), "a Secret is committed in git"
    # every variable the config names for a key is provided by the Secret
    cfg = _config(rendered)
    for key in cfg.api_keys:
        if key.env:
            assert "secretKeyRef" in env[key.env]["valueFrom"], key.env
    # the ledger URL carries no password (libpq reads PGPASSWORD, from the Secret)
    assert cfg.ledger.url and "@" in cfg.ledger.url
    assert ":" not in cfg.ledger.url.split("://", 1)[1].split("@", 1)[0]
    assert "secretKeyRef" in env["PGPASSWORD"]["valueFrom"]


def _config(rendered: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    import yaml

    cm = one(rendered, "ConfigMap")
    return parse_config(yaml.safe_load(cm["data"]["souverain.yaml"]), "deploy/k8s/souverain.yaml")


def test_config_map_is_the_mounted_valid_config(rendered: list[dict[str, Any]]) -> None:
    cm = one(rendered, "ConfigMap")
    pod = one(rendered, "Deployment")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["config"]["configMap"]["name"] == cm["metadata"]["name"]
    assert cm["metadata"]["name"].startswith("souverain-config-")  # hashed: changes roll pods
    env = {e["name"]: e.get("value") for e in _container(rendered)["env"]}
    mount = next(m for m in _container(rendered)["volumeMounts"] if m["name"] == "config")
    assert env["SOUVERAIN_CONFIG"] == mount["mountPath"] + "/souverain.yaml"
    cfg = _config(rendered)
    assert cfg.server.port == 8000
    assert cfg.ledger.url.startswith("postgresql://")
    assert any(k.admin for k in cfg.api_keys)


def test_service_pdb_hpa_select_the_pods(rendered: list[dict[str, Any]]) -> None:
    dep = one(rendered, "Deployment")
    labels = dep["spec"]["template"]["metadata"]["labels"]
    svc = one(rendered, "Service")
    assert svc["spec"]["selector"].items() <= labels.items()
    assert svc["spec"]["ports"][0]["targetPort"] == "http"
    pdb = one(rendered, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    hpa = one(rendered, "HorizontalPodAutoscaler")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", dep["metadata"]["name"])
    # the PDB never blocks every disruption at the HPA's minimum
    assert hpa["spec"]["minReplicas"] - pdb["spec"]["maxUnavailable"] >= 2
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
