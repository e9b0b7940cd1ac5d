"""The ledger tables as SQLAlchemy Core objects, for queries.

The migrations in ``migrations/versions`` are the schema's source of truth (append-only); this
module mirrors their result and ``tests/ledger/test_migrations.py`` checks that the two agree.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

#: The Alembic revision the code expects; ``Ledger.open`` upgrades to it.
HEAD_REVISION = "0005"
VERSION_TABLE = "souverain_ledger_version"

_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: INTEGER PRIMARY KEY = rowid

ledger = Table(
    "ledger",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("seq", BigInteger, nullable=True, unique=True),
    Column("request_id", String(128), nullable=False, unique=True),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("api_key_name", String(128)),
    Column("use_case", String(128)),
    Column("backend", String(128)),
    Column("operation", String(32)),
    Column("requested_model", String(256)),
    Column("model", String(256)),
    Column("operator", String(256)),
    Column("operator_jurisdiction", String(8)),
    Column("location", String(8)),
    Column("self_hosted", Boolean),
    Column("open_weights", Boolean),
    Column("decision", String(16), nullable=False),
    Column("reason", Text),
    Column("data_types", Text, nullable=False),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    Column("context_tokens", Integer),
    Column("ttft_ms", Float(53)),
    Column("duration_ms", Float(53)),
    Column("cost_eur", Float(53)),
    Column("cost_method", String(64)),
    Column("energy_wh", Float(53)),
    Column("energy_wh_low", Float(53)),
    Column("energy_wh_high", Float(53)),
    Column("energy_method", String(32), nullable=False),
    Column("carbon_g", Float(53)),
    Column("grid_gco2_per_kwh", Float(53)),
    Column("status", String(16), nullable=False),
    Column("http_status", Integer),
    Column("error_code", String(64)),
    Column("stream", Boolean, nullable=False),
    Column("used_tools", Boolean, nullable=False),
    Column("used_json_mode", Boolean, nullable=False),
    Column("writer_id", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sealed_at", DateTime(timezone=True)),
    Column("prev_hash", String(64)),
    Column("row_hash", String(64)),
    Index("ix_ledger_ts", "ts"),
    Index("ix_ledger_status", "status"),
    Index("ix_ledger_api_key_name_ts", "api_key_name", "ts"),  # 0002: budgets
    Index("ix_ledger_use_case_ts", "use_case", "ts"),  # 0002: budgets
)

#: One row (id = 1): the chain head. Sealing locks it, so sealing is serialised across writers.
ledger_chain = Table(
    "ledger_chain",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: Captured traffic samples (migration 0003; see :mod:`souverain.capture.store`). Workload
#: samples for exit drills, not audit records: not part of the hash chain, deleted at expiry.
captures = Table(
    "captures",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("captured_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("use_case", String(128), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("backend", String(128)),
    Column("payload", Text, nullable=False),
    Column("answer", Text),
    Column("data_types", Text, nullable=False),
    Column("sample_key", Float(53), nullable=False),
    Index("ix_captures_expires_at", "expires_at"),
    Index("ix_captures_use_case_sample_key", "use_case", "sample_key"),
)

#: Runtime API keys (migration 0004; see :mod:`souverain.ledger.keys`): only the SHA-256 of a
#: secret is stored. ``revision`` grows with every change (replicas poll ``count, sum(revision)``).
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("prev_sha256", String(64)),
    Column("prev_valid_until", DateTime(timezone=True)),
    Column("use_cases", Text, nullable=False),
    Column("admin", Boolean, nullable=False),
    Column("rpm", Integer),
    Column("tpm", Integer),
    Column("budget_eur_month", Float(53)),
    Column("expires_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("rotated_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revision", Integer, nullable=False),
)

#: Writer leases (migration 0005; see :mod:`souverain.ledger.lease`): each writing process renews
#: ``heartbeat_at`` (the database's clock) every third of its ``lease_s``; once a writer's lease has
#: lapsed, any live writer closes that writer's pending rows ``interrupted``.
ledger_writers = Table(
    "ledger_writers",
    metadata,
    Column("writer_id", String(200), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
    Column("lease_s", Float(53), nullable=False),
)
