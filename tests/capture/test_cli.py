"""``souverain capture list|purge`` against a real ledger database and config file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from souverain.capture import CaptureStore
from souverain.cli.capture import capture_app
from souverain.ledger import Ledger
from souverain.ledger.record import utcnow
from tests.capture.test_store import item, raw_insert

runner = CliRunner()


@pytest.fixture
def config(ledger_url: str, tmp_path: Path) -> Path:
    """support (retention 30 days) and legal (retention 7 days); 2 live items and 1 expired each,
    plus one 'legal' item 10 days old: expired under the current 7-day retention."""
    backend = {
        "name": "local",
        "type": "llamacpp",
        "model": "embedded",
        "self_hosted": True,
        "operator": "ACME IT",
        "operator_jurisdiction": "FR",
        "location": "FR",
        "open_weights": True,
    }
    cases = [
        {"name": n, "backends": ["local"], "capture": {"enabled": True, "retention_days": d}}
        for n, d in (("support", 30), ("legal", 7))
    ]
    data = {"ledger": {"url": ledger_url}, "backends": [backend], "use_cases": cases}
    path = tmp_path / "souverain.yaml"
    path.write_text(yaml.safe_dump(data))
    now = utcnow()
    with Ledger.open(ledger_url) as ledger:
        store = CaptureStore(ledger)
        for name in ("support", "legal"):
            for n in range(2):
                store.add_sync(item(name, n, payload={"prompt": "SECRETPLAN"}))
            old = now - timedelta(days=40)
            raw_insert(ledger, item(name, 5, captured_at=old, expires_at=old + timedelta(days=30)))
        ten = now - timedelta(days=10)
        raw_insert(ledger, item("legal", 6, captured_at=ten, expires_at=ten + timedelta(days=30)))
    return path


def test_list_counts_without_text(config: Path) -> None:
    result = runner.invoke(capture_app, ["list", "--config", str(config)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["use", "case", "items", "expired"]
    assert lines[1].split()[:3] == ["legal", "3", "1"]
    assert lines[2].split()[:3] == ["support", "2", "1"]
    assert "SECRETPLAN" not in result.output
    shown = runner.invoke(capture_app, ["list", "-c", str(config), "-u", "support", "--show"])
    assert shown.exit_code == 0 and shown.output.count("SECRETPLAN") == 2
    assert "legal" not in shown.output


def test_purge_expired_uses_current_retention(config: Path) -> None:
    result = runner.invoke(capture_app, ["purge", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "deleted 3 expired captured item(s)" in result.output
    again = runner.invoke(capture_app, ["purge", "--config", str(config)])
    assert "deleted 0 expired" in again.output


def test_purge_one_use_case_then_all(config: Path) -> None:
    result = runner.invoke(capture_app, ["purge", "-c", str(config), "--use-case", "legal"])
    assert "deleted 2 expired captured item(s) of use case 'legal'" in result.output
    result = runner.invoke(capture_app, ["purge", "-c", str(config), "--all", "-u", "support"])
    assert "deleted 3 captured item(s) of use case 'support'" in result.output
    result = runner.invoke(capture_app, ["purge", "-c", str(config), "--all"])
    assert "deleted 2 captured item(s)" in result.output
    listed = runner.invoke(capture_app, ["list", "-c", str(config)])
    assert "no captured items" in listed.output


def test_bad_config_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("use_cases: 3\n")
    assert runner.invoke(capture_app, ["purge", "-c", str(bad)]).exit_code == 2
