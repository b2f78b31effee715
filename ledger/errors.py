"""Typed ledger errors. Each is raised before anything is written, so none leaves a trace.

Programmer errors (a bool where fen belongs, a naive datetime) are assertions/TypeErrors;
these are operating errors a caller handles and maps to a user-facing outcome.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every operating error of the ledger."""

    code = "ledger_error"


class UnknownAccount(LedgerError):
    code = "unknown_account"


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"

    def __init__(self, account_id: int, available: int, wanted: int) -> None:
        super().__init__(f"account {account_id}: {available} fen available, {wanted} wanted")
        self.account_id = account_id
        self.available = available
        self.wanted = wanted


class CurrencyMismatch(LedgerError):
    code = "currency_mismatch"


class SameAccount(LedgerError):
    code = "same_account"


class PendingNotFound(LedgerError):
    code = "pending_not_found"


class AlreadyResolved(LedgerError):
    """The pending transfer was already posted or voided."""

    code = "already_resolved"


class AmountExceedsPending(LedgerError):
    code = "amount_exceeds_pending"


class IdempotencyConflict(LedgerError):
    """Same idempotency key, different content: never a second posting."""

    code = "exists_with_different_content"

    def __init__(self, key: str, field: str) -> None:
        super().__init__(f"key {key!r} exists with a different {field}")
        self.key = key
        self.field = field


class PendingExpired(LedgerError):
    """The pending transfer passed its expiry; the ledger released it."""

    code = "pending_expired"


class AccountClosed(LedgerError):
    code = "account_closed"


class InvalidTransfer(LedgerError):
    """A transfer request is malformed (a programmer error on the caller's side, reported)."""

    code = "invalid_transfer"


class RecordRefused(LedgerError):
    """The database refused a record written with the transaction (typically an operation
    row whose key already exists: a concurrent duplicate committed first)."""

    code = "record_refused"


class LimitExceeded(LedgerError):
    """A counter written with the transaction (`RecordAdd`) would pass its cap; `limit` names
    which one. Nothing of the transaction was written."""

    code = "limit_exceeded"

    def __init__(self, limit: str) -> None:
        super().__init__(f"limit {limit!r} reached")
        self.limit = limit


class Overloaded(LedgerError):
    """The writer's queue is full: push back instead of growing without bound."""

    code = "overloaded"
