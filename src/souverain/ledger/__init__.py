"""The tamper-evident request ledger (see docs/ledger.md)."""

from souverain.ledger.budgets import Budget, BudgetExceeded, BudgetGuard
from souverain.ledger.record import (
    DECISIONS,
    ENERGY_METHODS,
    KINDS,
    STATUSES,
    LedgerRecord,
)
from souverain.ledger.store import Ledger, LedgerError, LedgerUnavailable
from souverain.ledger.verify import Problem, VerifyResult

__all__ = [
    "DECISIONS",
    "ENERGY_METHODS",
    "KINDS",
    "STATUSES",
    "Budget",
    "BudgetExceeded",
    "BudgetGuard",
    "Ledger",
    "LedgerError",
    "LedgerRecord",
    "LedgerUnavailable",
    "Problem",
    "VerifyResult",
]
