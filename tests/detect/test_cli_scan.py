from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from souverain.cli.scan import scan_command

app = typer.Typer()
app.command("scan")(scan_command)
app.command("noop")(lambda: None)  # a second command keeps "scan" as a subcommand
runner = CliRunner()


def test_json_from_stdin() -> None:
    res = runner.invoke(
        app, ["scan", "-", "--format", "json"], input="mail a@b.fr, SIREN 732 829 320"
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [(f["type"], f["start"], f["end"]) for f in data["findings"]] == [
        ("email", 5, 11), ("company_id", 19, 30)
    ]  # fmt: skip
    assert data["findings"][1]["country"] == "FR"
    assert "732" not in res.stdout


def test_table_from_file_with_config_markers(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("confidential_markers: ['Projet Aurora', 're:PRJ-\\d{4}']\n")
    doc = tmp_path / "doc.txt"
    doc.write_text("Le projet aurora (PRJ-1234) avance.")
    res = runner.invoke(app, ["scan", str(doc), "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    assert "confidential_marker" in res.stdout and "2 finding(s)" in res.stdout


def test_missing_file_exits_2() -> None:
    res = runner.invoke(app, ["scan", "/nonexistent/x.txt"])
    assert res.exit_code == 2
    assert "no such file" in res.output
