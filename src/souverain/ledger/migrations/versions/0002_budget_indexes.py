"""Indexes for budget checks: spend per API key and per use case over a time window.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-02
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ledger_api_key_name_ts", "ledger", ["api_key_name", "ts"])
    op.create_index("ix_ledger_use_case_ts", "ledger", ["use_case", "ts"])


def downgrade() -> None:
    op.drop_index("ix_ledger_use_case_ts", "ledger")
    op.drop_index("ix_ledger_api_key_name_ts", "ledger")
