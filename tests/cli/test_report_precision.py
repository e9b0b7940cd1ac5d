"""Reports carry full precision (issue #16 item 4): a request costing a few µEUR is not 0."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from souverain.cli.main import app
from souverain.ledger import Ledger
from tests.ledger.helpers import record

runner = CliRunner()


def test_micro_costs_survive_json_and_table(tmp_path: Path) -> None:
    url = str(tmp_path / "ledger.db")
    with Ledger.open(url) as ledger:
        ledger.write(record(cost_eur=0.0000088, energy_wh=0.0000031, carbon_g=0.00000052))
        ledger.write(record(cost_eur=0.0000001))
    config = tmp_path / "c.yaml"
    config.write_text(
        f"""ledger: {{url: "{url}"}}
backends:
  - {{name: local, type: llamacpp, model: embedded, self_hosted: true, operator: ACME IT,
     operator_jurisdiction: FR, location: FR, open_weights: true}}
use_cases: [{{name: default, backends: [local]}}]
""",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["report", "-c", str(config), "--format", "json"])
    assert result.exit_code == 0, result.output
    (summary,) = json.loads(result.output)
    assert abs(summary["cost_eur"] - 0.0000089) < 1e-12
    assert summary["energy_wh"] > 0 and summary["cost_eur"] > 0
    table = runner.invoke(app, ["report", "-c", str(config)], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "0.0000089" in table.output and "0.0000 " not in table.output
