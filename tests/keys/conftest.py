"""Runtime keys and limits through the real app: the ledger suite's SQLite/PostgreSQL fixtures."""

from tests.ledger.conftest import ledger_url, pg_available, pg_url

__all__ = ["ledger_url", "pg_available", "pg_url"]
