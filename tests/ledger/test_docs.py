"""docs/ledger.md lists the schema the migrations build."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.dialects import postgresql

from souverain.ledger.schema import api_keys, ledger, ledger_chain, ledger_writers

DOC = Path(__file__).resolve().parents[2] / "docs" / "ledger.md"


def test_schema_table_matches() -> None:
    text = DOC.read_text()
    for table in (ledger, ledger_chain, api_keys, ledger_writers):
        for col in table.columns:
            kind = col.type.compile(dialect=postgresql.dialect())
            row = f"| `{col.name}` | {kind} | {'yes' if col.nullable else 'no'} |"
            assert row in text, f"docs/ledger.md: schema row for {table.name}.{col.name} is stale"
