"""Capture storage runs on the ledger's databases: SQLite and the real PostgreSQL."""

from __future__ import annotations

from tests.ledger.conftest import ledger_url, pg_available, pg_url

__all__ = ["ledger_url", "pg_available", "pg_url"]
