"""Configuration: the issue's contract is accepted as written; bad files name the field and file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from souverain.cli.main import app
from souverain.config import ConfigError, default_config, load_config, parse_config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
runner = CliRunner()


def base() -> dict:
    return yaml.safe_load((EXAMPLES / "policies.yaml").read_text())


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_examples_are_valid(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_config(path)
    assert cfg.backends and cfg.use_cases
    required = _required_env(path)
    for name in required:
        monkeypatch.delenv(name, raising=False)
    if required:  # without what its header says to set, check-config names each variable
        result = runner.invoke(app, ["check-config", str(path)])
        assert result.exit_code == 1, result.output
        assert all(f"environment variable {name} is not set" in result.output for name in required)
    for i, name in enumerate(required):
        monkeypatch.setenv(name, f"sk-sov-example-{i}")
    result = runner.invoke(app, ["check-config", str(path)])
    assert result.exit_code == 0, result.output


def _required_env(path: Path) -> list[str]:
    from tests.e2e.test_examples import header_variables

    return header_variables(path)


def test_issue_3_contract_as_written() -> None:
    cfg = load_config(EXAMPLES / "policies.yaml")
    research = cfg.use_case("research")
    assert research.backends == ["mistral-api", "us-api", "on-prem-small"]
    assert research.policy.personal_data == "pseudonymize"
    assert research.policy.secrets == "block" and research.policy.confidential == "keep-local"
    assert cfg.backend("us-api").operator_jurisdiction == "US"
    assert cfg.backend("us-api").location == "IE"
    assert cfg.confidential_markers == ["CONFIDENTIEL", "STRICTLY CONFIDENTIAL", "Project Aurora"]


def test_default_config_has_embedded_backends_and_default_and_embed_use_cases() -> None:
    cfg = default_config()
    assert [b.name for b in cfg.backends] == ["gemma-3-270m", "minilm-l6-v2"]
    assert cfg.backends[0].type == "llamacpp" and cfg.backends[0].model == "embedded"
    assert cfg.backends[1].type == "onnx" and cfg.backends[1].model == "embedded"
    assert cfg.use_case_names == ["default", "embed"]
    assert cfg.use_case("embed").backends == ["minilm-l6-v2"]


def problems(data: dict) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "test.yaml")
    assert "test.yaml" in str(info.value)
    return info.value.problems


def test_missing_operator_jurisdiction_is_an_error_not_a_default() -> None:
    data = base()
    del data["backends"][1]["operator_jurisdiction"]
    assert ("backends[1].operator_jurisdiction", "required field is missing") in problems(data)


def test_unknown_backend_in_use_case_names_use_case_and_field() -> None:
    data = base()
    data["use_cases"][0]["backends"] = ["on-prem-small", "nope"]
    path, msg = problems(data)[0]
    assert path == "use_cases[0].backends[1]" and "kyc" in msg and "nope" in msg


def test_unknown_jurisdiction_code() -> None:
    data = base()
    data["use_cases"][1]["policy"]["allowed_jurisdictions"] = ["EU", "XY"]
    path, msg = problems(data)[0]
    assert path == "use_cases[1].policy.allowed_jurisdictions" and "XY" in msg


def test_contradictory_policy_require_self_hosted_without_self_hosted_candidate() -> None:
    data = base()
    data["use_cases"][1]["policy"]["require_self_hosted"] = True
    data["use_cases"][1]["backends"] = ["mistral-api", "us-api"]
    found = problems(data)
    assert any(p == "use_cases[1].policy.require_self_hosted" and "research" in m for p, m in found)


def test_confidential_pseudonymize_is_refused_with_the_reason() -> None:
    data = base()
    data["use_cases"][1]["policy"]["confidential"] = "pseudonymize"
    path, msg = problems(data)[0]
    assert path == "use_cases[1].policy.confidential"
    assert "marker does not say which text" in msg and "allow, keep-local or block" in msg
    for ok in ("allow", "keep-local", "block"):
        data["use_cases"][1]["policy"]["confidential"] = ok
        assert parse_config(data).use_cases[1].policy.confidential == ok


def test_media_action_defaults_to_personal_data_and_refuses_pseudonymize() -> None:
    data = base()
    data["use_cases"][1]["policy"]["media"] = "pseudonymize"
    path, msg = problems(data)[0]
    assert path == "use_cases[1].policy.media"
    assert "cannot be scanned" in msg and "allow, keep-local or block" in msg
    for pd, expected in [
        ("allow", "allow"),
        ("keep-local", "keep-local"),
        ("pseudonymize", "keep-local"),
        ("block", "block"),
    ]:
        data["use_cases"][1]["policy"] = {"personal_data": pd}
        assert parse_config(data).use_cases[1].policy.media_action == expected
        data["use_cases"][1]["policy"]["media"] = "allow"
        assert parse_config(data).use_cases[1].policy.media_action == "allow"


def test_unknown_field_and_wrong_type_are_named() -> None:
    data = base()
    data["backends"][0]["n_ctxx"] = 5
    data["backends"][0]["open_weights"] = "maybe"
    paths = {p for p, _ in problems(data)}
    assert {"backends[0].n_ctxx", "backends[0].open_weights"} <= paths


def test_api_key_must_not_be_in_clear_and_use_case_must_exist() -> None:
    data = base()
    data["api_keys"] = [
        {"name": "k", "sha256": "abc", "use_cases": ["kyc"]},
        {"name": "j", "env": "KEY_J", "use_cases": ["nope"]},
    ]
    found = dict(problems(data))
    assert "api_keys[0].sha256" in found or "api_keys[0].sha256" in " ".join(found)


def test_check_config_exit_code_2_names_file_and_field(tmp_path: Path) -> None:
    data = base()
    data["backends"][2]["location"] = "Atlantis"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    result = runner.invoke(app, ["check-config", str(path)])
    assert result.exit_code == 2
    assert "bad.yaml" in result.output and "backends[2].location" in result.output


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "x.yaml"
    p.write_text("backends: [\n")
    assert runner.invoke(app, ["check-config", str(p)]).exit_code == 2
    assert runner.invoke(app, ["check-config", str(tmp_path / "missing.yaml")]).exit_code == 2


def test_keys_new_prints_key_once_and_hash_line() -> None:
    import hashlib

    result = runner.invoke(app, ["keys", "new", "alice", "--use-case", "kyc"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    key = next(line for line in lines if line.startswith("sk-sov-"))
    assert f"sha256: {hashlib.sha256(key.encode()).hexdigest()}" in result.output
    assert "use_cases: [kyc]" in result.output


def test_ledger_url_scheme_is_checked() -> None:
    data = base()
    data["ledger"] = {"url": "mysql://user@host/db"}
    path, msg = problems(data)[0]
    assert path == "ledger.url" and "mysql" in msg


def test_keys_new_rejects_a_name_the_config_would_reject() -> None:
    assert runner.invoke(app, ["keys", "new", "bad name!"]).exit_code == 2


def test_read_only_ledger_commands_refuse_a_missing_sqlite_file(tmp_path: Path) -> None:
    data = base()
    data["ledger"] = {"url": str(tmp_path / "missing" / "ledger.db")}
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(data))
    result = runner.invoke(app, ["ledger", "verify", "--config", str(cfg)])
    assert result.exit_code == 3 and "no ledger at" in result.output
    assert not (tmp_path / "missing").exists()


def test_drill_removal_that_matches_nothing_is_a_usage_error() -> None:
    for flag, value in (("--without-operator", "Mistral"), ("--without-jurisdiction", "JP")):
        result = runner.invoke(
            app,
            ["drill", "exit", "--plan", flag, value, "--config", str(EXAMPLES / "policies.yaml")],
        )
        assert result.exit_code == 2, result.output
        assert "matches no backend" in result.output


def test_ledger_disabled_only_with_self_hosted_backends() -> None:
    data = base()
    data["ledger"] = {"enabled": False}
    found = problems(data)
    hits = [m for p, m in found if p == "ledger.enabled"]
    assert hits and "mistral-api" in hits[0] and "on-prem-small" not in hits[0]
    data["backends"] = [b for b in data["backends"] if b.get("self_hosted")]
    kept = {b["name"] for b in data["backends"]}
    for uc in data["use_cases"]:
        uc["backends"] = [n for n in uc["backends"] if n in kept]
    data["use_cases"] = [uc for uc in data["use_cases"] if uc["backends"]]
    parse_config(data, "test.yaml")  # self-hosted only: no record is allowed by name
