"""The writer's view: what it knows without reading, so that a batch can be validated on the
event loop while the previous one is still being written (TigerBeetle keeps its state in
memory for the same reason).

It holds the accounts the writer has read (settings, and for limited accounts the balance as
of everything it has prepared, written or not) and the pending transfers it knows to be
unresolved. It is trusted only while the writer is provably the database's only writer
since it read them: SQLite's `data_version` on the writer's one connection, checked inside
the commit's own transaction (BEGIN IMMEDIATE, so nobody can commit between the check and
the write). A batch the view cannot serve — an account or pending transfer it has not seen,
another connection having committed, PostgreSQL (where other processes write all the
time), a commit that failed — is validated again from reads inside its transaction.

Idempotency does not need the view: a key stored in an earlier batch fails the unique index
on insert, and that batch is then done again from reads, which answer the replay.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from ledger.batch import AccountState, BatchState, PendingState
from ledger.money import AccountId
from ledger.transfers import Transaction

accounts_known_max: Final = 200_000
pendings_known_max: Final = 100_000


class WriterView:
    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.accounts: dict[AccountId, AccountState] = {}
        self.pendings: dict[str, PendingState] = {}  # unresolved, oldest first
        self.data_version: int | None = None  # None: nothing is trusted
        self.generation = 0  # changes whenever what was prepared may no longer hold
        self.held = False  # a batch read from the database is being written

    def clear(self) -> None:
        self.accounts = {}
        self.pendings = {}
        self.data_version = None
        self.generation += 1

    def hold(self) -> None:
        """A batch validated from reads is about to be written: until `absorb`, the view
        lacks its effects and serves nothing."""
        self.held = True

    def release(self) -> None:
        """That batch failed: what the view holds may be stale."""
        self.held = False
        self.clear()

    def absorb(self, state: BatchState, data_version: int | None) -> None:
        """After a batch validated from reads committed: keep what it read and changed."""
        self.held = False
        if not self.enabled or data_version is None:
            return
        if data_version != self.data_version:
            self.clear()  # another connection committed since the view was read
        if len(self.accounts) + len(state.accounts) > accounts_known_max:
            self.accounts = {}
        self.accounts.update(state.accounts)
        for key in state.resolved:
            self.pendings.pop(key, None)
        self.pendings.update(state.pendings)
        self.trim()
        self.data_version = data_version

    def trim(self) -> None:
        """Forget the oldest pending transfers beyond the bound (a post naming one of those
        is validated from reads)."""
        excess = len(self.pendings) - pendings_known_max
        if excess > 0:
            for key in list(self.pendings)[:excess]:
                del self.pendings[key]

    def state_for(self, batch: Sequence[Transaction], now: datetime) -> BatchState | None:
        """A state to validate `batch` against, sharing (and so advancing) the view's own
        accounts and pending transfers; None when the view cannot vouch for all of it."""
        if not self.enabled or self.held or self.data_version is None:
            return None
        accounts, pendings = self.accounts, self.pendings
        for tx in batch:
            for r in tx.transfers:
                if r.pending_key is not None:
                    pending = pendings.get(r.pending_key)
                    if pending is None or pending.debit_account_id not in accounts:
                        return None
                    if pending.credit_account_id not in accounts:
                        return None
                elif r.debit_account_id not in accounts or r.credit_account_id not in accounts:
                    return None
        return BatchState(
            accounts=accounts, pendings=pendings, resolved=set(), existing={}, now=now
        )


__all__ = ["WriterView", "accounts_known_max", "pendings_known_max"]
