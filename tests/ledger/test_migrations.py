"""The migrations are the schema: the Core tables the code queries must match what they build."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from souverain.ledger import Ledger
from souverain.ledger.engine import _alembic_config
from souverain.ledger.schema import HEAD_REVISION, VERSION_TABLE, metadata


def test_head_revision_constant_matches_the_scripts() -> None:
    script = ScriptDirectory.from_config(_alembic_config(None))
    assert script.get_current_head() == HEAD_REVISION


def test_migrated_schema_matches_the_tables(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger, ledger.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        diff = compare_metadata(ctx, metadata)
        assert diff == []
        assert ctx.get_current_revision() == HEAD_REVISION


def test_reopen_is_idempotent(ledger_url: str) -> None:
    for _ in range(3):
        Ledger.open(ledger_url).close()
