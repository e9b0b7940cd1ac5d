"""Writer leases: one row per process that writes to the ledger, with a heartbeat on the
database's clock, so that any live replica can close the pending rows of a writer whose lease has
lapsed (see :mod:`souverain.ledger.lease`), without waiting for that host to restart.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_writers",
        sa.Column("writer_id", sa.String(200), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_s", sa.Float(53), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ledger_writers")
