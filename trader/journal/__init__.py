"""The trader's durable journal (SQLite, WAL, one writer) and its schema."""

from trader.journal.journal import (
    IN_MEMORY,
    BalanceSnapshot,
    Journal,
    JournalError,
    JournalLocked,
    NoSession,
    RiskEvent,
    Session,
    SessionTotals,
)
from trader.journal.schema import VERSION, SchemaError

__all__ = [
    "IN_MEMORY",
    "VERSION",
    "BalanceSnapshot",
    "Journal",
    "JournalError",
    "JournalLocked",
    "NoSession",
    "RiskEvent",
    "SchemaError",
    "Session",
    "SessionTotals",
]
