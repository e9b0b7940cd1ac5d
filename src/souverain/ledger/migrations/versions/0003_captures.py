"""Captured traffic samples for exit drills (not part of the hash chain).

Revision ID: 0003
Revises: 0002
Create Date: 2026-01-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "captures",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("use_case", sa.String(128), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("backend", sa.String(128)),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text()),
        sa.Column("data_types", sa.Text(), nullable=False),
        sa.Column("sample_key", sa.Float(53), nullable=False),
    )
    op.create_index("ix_captures_expires_at", "captures", ["expires_at"])
    op.create_index("ix_captures_use_case_sample_key", "captures", ["use_case", "sample_key"])


def downgrade() -> None:
    op.drop_index("ix_captures_use_case_sample_key", "captures")
    op.drop_index("ix_captures_expires_at", "captures")
    op.drop_table("captures")
