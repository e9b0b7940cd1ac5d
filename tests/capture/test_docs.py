"""docs/ledger.md lists the captures table the migrations build; docs/drills.md exists."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.dialects import postgresql

from souverain.ledger.schema import captures

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_captures_schema_documented() -> None:
    text = (DOCS / "ledger.md").read_text()
    for col in captures.columns:
        kind = col.type.compile(dialect=postgresql.dialect())
        row = f"| `{col.name}` | {kind} | {'yes' if col.nullable else 'no'} |"
        assert row in text, f"docs/ledger.md: schema row for captures.{col.name} is stale"
    for index in captures.indexes:
        assert f"`{index.name}`" in text


def test_drills_doc_has_the_capture_section() -> None:
    text = (DOCS / "drills.md").read_text()
    assert "## Traffic capture" in text and "allow_sensitive: true" in text
