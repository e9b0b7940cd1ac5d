"""The ledger table and its chain head.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_FLOAT = sa.Float(53)


def upgrade() -> None:
    op.create_table(
        "ledger",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("api_key_name", sa.String(128)),
        sa.Column("use_case", sa.String(128)),
        sa.Column("backend", sa.String(128)),
        sa.Column("operation", sa.String(32)),
        sa.Column("requested_model", sa.String(256)),
        sa.Column("model", sa.String(256)),
        sa.Column("operator", sa.String(256)),
        sa.Column("operator_jurisdiction", sa.String(8)),
        sa.Column("location", sa.String(8)),
        sa.Column("self_hosted", sa.Boolean()),
        sa.Column("open_weights", sa.Boolean()),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("data_types", sa.Text(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer()),
        sa.Column("completion_tokens", sa.Integer()),
        sa.Column("context_tokens", sa.Integer()),
        sa.Column("ttft_ms", _FLOAT),
        sa.Column("duration_ms", _FLOAT),
        sa.Column("cost_eur", _FLOAT),
        sa.Column("cost_method", sa.String(64)),
        sa.Column("energy_wh", _FLOAT),
        sa.Column("energy_wh_low", _FLOAT),
        sa.Column("energy_wh_high", _FLOAT),
        sa.Column("energy_method", sa.String(32), nullable=False),
        sa.Column("carbon_g", _FLOAT),
        sa.Column("grid_gco2_per_kwh", _FLOAT),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("http_status", sa.Integer()),
        sa.Column("error_code", sa.String(64)),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("used_tools", sa.Boolean(), nullable=False),
        sa.Column("used_json_mode", sa.Boolean(), nullable=False),
        sa.Column("writer_id", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True)),
        sa.Column("prev_hash", sa.String(64)),
        sa.Column("row_hash", sa.String(64)),
        sa.UniqueConstraint("seq"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index("ix_ledger_ts", "ledger", ["ts"])
    op.create_index("ix_ledger_status", "ledger", ["status"])
    op.create_table(
        "ledger_chain",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    # The chain starts empty: seq 0, the genesis hash.
    op.execute(
        "INSERT INTO ledger_chain (id, seq, head_hash, updated_at) "
        f"VALUES (1, 0, '{'0' * 64}', CURRENT_TIMESTAMP)"
    )


def downgrade() -> None:
    op.drop_table("ledger_chain")
    op.drop_index("ix_ledger_status", "ledger")
    op.drop_index("ix_ledger_ts", "ledger")
    op.drop_table("ledger")
