"""Validating a batch of transactions in memory, in order, against balances read once.

Pure: no database, no clock, no asyncio. The writer loads what a batch touches (limited
accounts' balances under lock, the pending transfers named, the keys that already exist),
then each transaction is checked and applied here to that state; a transaction that fails
leaves the state as it was (atomicity), and the next one sees the effects of every earlier
success (so two reservations in one batch cannot both spend the same money). What comes out
is the rows to insert and the balance deltas to add, per account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from ledger import errors
from ledger.accounts import AccountFlag
from ledger.money import AccountId, amount_fen_max
from ledger.transfers import (
    RESERVED_KEY_PREFIX,
    Kind,
    Transaction,
    Transfer,
    TransferRequest,
    expire_key,
    key_length_max,
    meta_json,
    reference_length_max,
)

# Plain ints: IntFlag arithmetic is slow, and this runs for every account of every batch.
_LIMIT_DEBITS = int(AccountFlag.DEBITS_MUST_NOT_EXCEED_CREDITS)
_LIMIT_CREDITS = int(AccountFlag.CREDITS_MUST_NOT_EXCEED_DEBITS)
_CLOSED = int(AccountFlag.CLOSED)
_HOT = int(AccountFlag.HOT)

# A balance is four counters in a list, indexed thus (lists: this is the hot loop).
DP, DX, CP, CX = 0, 1, 2, 3  # debits pending, debits posted, credits pending, credits posted


@dataclass(frozen=True, slots=True)
class AccountState:
    id: AccountId
    currency: str
    limit_debits: bool  # debits must not exceed credits
    limit_credits: bool  # credits must not exceed debits
    closed: bool
    hot: bool  # sharded: deltas go to the writer's shard row
    balance: list[int]  # current totals (authoritative for limited accounts only)
    limited: bool  # either limit: the balance is kept (a field, not a property: hot loop)

    @staticmethod
    def of(account_id: AccountId, currency: str, flags: int, balance: list[int]) -> AccountState:
        return AccountState(
            account_id,
            currency,
            bool(flags & _LIMIT_DEBITS),
            bool(flags & _LIMIT_CREDITS),
            bool(flags & _CLOSED),
            bool(flags & _HOT),
            balance,
            bool(flags & (_LIMIT_DEBITS | _LIMIT_CREDITS)),
        )


@dataclass(frozen=True, slots=True)
class PendingState:
    key: str
    debit_account_id: AccountId
    credit_account_id: AccountId
    amount: int
    currency: str
    expires_at: datetime | None
    reference: str | None


class NewTransfer(NamedTuple):
    """A transfer accepted in this batch, before the writer gives it a place in its chain.
    `meta` is the JSON stored (and hashed); `meta_values` the mapping it came from. (A named
    tuple: immutable like the rest, and cheap to make, which matters once per transfer.)"""

    key: str
    kind: Kind
    debit_account_id: AccountId
    credit_account_id: AccountId
    amount: int
    currency: str
    pending_key: str | None
    expires_at: datetime | None
    reference: str | None
    meta: str
    meta_values: Mapping[str, Any]


class Accepted(NamedTuple):
    """Made once per transaction: a named tuple, cheaper than a frozen dataclass."""

    transfers: tuple[NewTransfer, ...]


@dataclass(frozen=True, slots=True)
class Replayed:
    """Every transfer exists with the same content (stored before, or accepted earlier in this
    batch): the answer is those transfers, by key."""

    keys: tuple[str, ...]


Outcome = Accepted | Replayed | errors.LedgerError


@dataclass
class BatchState:
    accounts: Mapping[AccountId, AccountState]
    pendings: dict[str, PendingState]  # unresolved pending transfers, by key
    resolved: set[str]  # pending keys already posted, voided or expired
    existing: Mapping[str, Transfer]  # stored transfers whose keys this batch names
    now: datetime
    deltas: dict[AccountId, list[int]] = field(default_factory=dict)
    accepted: dict[str, NewTransfer] = field(default_factory=dict)  # in this batch, by key

    def apply(self, transaction: Transaction) -> Outcome:
        first = transaction.transfers[0]
        if first.key in self.existing or first.key in self.accepted:
            return self._replay(transaction)
        trial = _Trial(self)
        for request in transaction.transfers:
            problem = trial.apply(request)
            if problem is not None:
                trial.undo()
                return problem
        trial.commit()
        return Accepted(tuple(trial.accepted))

    def _replay(self, transaction: Transaction) -> Outcome:
        for request in transaction.transfers:
            stored: Transfer | NewTransfer | None = self.existing.get(
                request.key
            ) or self.accepted.get(request.key)
            if stored is None:
                return errors.IdempotencyConflict(request.key, "transaction")
            field_name = _differs(stored, request)
            if field_name is not None:
                return errors.IdempotencyConflict(request.key, field_name)
        return Replayed(tuple(request.key for request in transaction.transfers))


def _differs(stored: Transfer | NewTransfer, request: TransferRequest) -> str | None:
    """The first field in which a replayed request differs from what is stored. A post or
    void that names no amount (or reference) takes the pending transfer's, so those match."""
    expected: dict[str, Any] = {"kind": request.kind, "currency": request.currency}
    if request.kind in ("single", "pending"):
        expected |= {
            "debit_account_id": request.debit_account_id,
            "credit_account_id": request.credit_account_id,
            "amount": request.amount,
            "expires_at": request.expires_at if request.kind == "pending" else None,
            "reference": request.reference,
        }
    else:
        expected["pending_key"] = request.pending_key
        if request.amount is not None:
            expected["amount"] = request.amount
        if request.reference is not None:
            expected["reference"] = request.reference
    for name, value in expected.items():
        if getattr(stored, name) != value:
            return name
    stored_meta = stored.meta_values if isinstance(stored, NewTransfer) else stored.meta
    if dict(stored_meta) != dict(request.meta):
        return "meta"
    return None


def _check_shape(request: TransferRequest) -> None:
    """Refuse what the tables could not hold, and keys reserved for the ledger itself."""
    if request.kind == "expire":
        if request.pending_key is None or request.key != expire_key(request.pending_key):
            raise errors.InvalidTransfer(f"{request.key}: an expiry takes the ledger's own key")
    elif not 0 < len(request.key) <= key_length_max:
        raise errors.InvalidTransfer(f"a key is 1..{key_length_max} characters")
    elif request.key.startswith(RESERVED_KEY_PREFIX):
        raise errors.InvalidTransfer(
            f"{request.key}: keys starting {RESERVED_KEY_PREFIX!r} are the ledger's"
        )
    if request.reference is not None and len(request.reference) > reference_length_max:
        raise errors.InvalidTransfer(
            f"{request.key}: a reference is at most {reference_length_max} characters"
        )
    if len(request.currency) != 3:
        raise errors.InvalidTransfer(f"{request.key}: a currency is a 3-letter code")


class _Trial:
    """One transaction, applied to the batch state leg by leg (so each leg sees the ones
    before it) with an undo log: a leg that fails takes the earlier ones back, so a refused
    transaction leaves the state as it was."""

    __slots__ = ("accepted", "changes", "created", "deltas", "keys", "resolved", "state")

    def __init__(self, state: BatchState) -> None:
        self.state = state
        self.deltas = state.deltas
        self.changes: list[tuple[AccountState, int, int]] = []  # account, counter, amount
        self.resolved: set[str] = set()
        self.created: dict[str, PendingState] = {}
        self.accepted: list[NewTransfer] = []
        self.keys: set[str] = set()  # of `accepted`: a transaction may have thousands of legs

    def _add(self, account: AccountState, counter: int, amount: int) -> None:
        """One counter of one account (a leg moves one counter on each side; a resolution two)."""
        if account.limited:
            account.balance[counter] += amount
        delta = self.deltas.get(account.id)
        if delta is None:
            delta = self.deltas[account.id] = [0, 0, 0, 0]
        delta[counter] += amount
        self.changes.append((account, counter, amount))

    def undo(self) -> None:
        for account, counter, amount in reversed(self.changes):
            if account.limited:
                account.balance[counter] -= amount
            self.deltas[account.id][counter] -= amount
        self.changes.clear()

    def _account(self, account_id: AccountId | None, currency: str) -> AccountState:
        account = self.state.accounts.get(account_id) if account_id is not None else None
        if account is None:
            raise errors.UnknownAccount(f"no account {account_id}")
        if account.closed:
            raise errors.AccountClosed(f"account {account.id} is closed")
        if account.currency != currency:
            raise errors.CurrencyMismatch(f"account {account.id} holds {account.currency}")
        return account

    def apply(self, request: TransferRequest) -> errors.LedgerError | None:
        try:
            _check_shape(request)
            key = request.key
            if key in self.keys or key in self.state.existing or key in self.state.accepted:
                raise errors.IdempotencyConflict(request.key, "key")
            if request.kind in ("single", "pending"):
                self._move(request)
            elif request.kind in ("post", "void", "expire"):
                self._resolve(request)
            else:
                raise errors.InvalidTransfer(f"unknown kind {request.kind!r}")
        except errors.LedgerError as problem:
            return problem
        return None

    def _move(self, request: TransferRequest) -> None:
        amount = request.amount
        if amount is None or isinstance(amount, bool) or not 0 < amount <= amount_fen_max:
            raise errors.InvalidTransfer(f"{request.key}: amount must be 1..{amount_fen_max} fen")
        if request.pending_key is not None:
            raise errors.InvalidTransfer(f"{request.key}: only post/void name a pending transfer")
        if request.debit_account_id == request.credit_account_id:
            raise errors.SameAccount(f"{request.key}: debit and credit are one account")
        debit = self._account(request.debit_account_id, request.currency)
        credit = self._account(request.credit_account_id, request.currency)
        pending = request.kind == "pending"
        self._check_room(debit, credit, amount)
        if pending:
            self._add(debit, DP, amount)
            self._add(credit, CP, amount)
            self.created[request.key] = PendingState(
                request.key,
                debit.id,
                credit.id,
                amount,
                request.currency,
                request.expires_at,
                request.reference,
            )
        else:
            self._add(debit, DX, amount)
            self._add(credit, CX, amount)
        self._accept(request, debit.id, credit.id, amount)

    def _check_room(self, debit: AccountState, credit: AccountState, amount: int) -> None:
        if debit.limit_debits:
            b = debit.balance
            room = b[CX] - b[DX] - b[DP]
            if amount > room:
                raise errors.InsufficientFunds(debit.id, room, amount)
        if credit.limit_credits:
            b = credit.balance
            room = b[DX] - b[CX] - b[CP]
            if amount > room:
                raise errors.InsufficientFunds(credit.id, room, amount)

    def _pending(self, request: TransferRequest) -> PendingState:
        key = request.pending_key
        if key is None:
            raise errors.InvalidTransfer(f"{request.key}: {request.kind} names no pending transfer")
        if key in self.state.resolved or key in self.resolved:
            raise errors.AlreadyResolved(f"pending transfer {key!r} is already resolved")
        pending = self.created.get(key) or self.state.pendings.get(key)
        if pending is None:
            raise errors.PendingNotFound(f"no pending transfer {key!r}")
        return pending

    def _resolve(self, request: TransferRequest) -> None:
        pending = self._pending(request)
        expired = pending.expires_at is not None and pending.expires_at <= self.state.now
        if request.kind == "expire":
            if not expired:
                raise errors.InvalidTransfer(f"{pending.key!r} has not expired")
        elif expired:
            raise errors.PendingExpired(f"pending transfer {pending.key!r} expired")
        posted = 0
        if request.kind == "post":
            posted = pending.amount if request.amount is None else request.amount
            if isinstance(posted, bool) or not 0 < posted <= pending.amount:
                raise errors.AmountExceedsPending(f"post {posted} of pending {pending.amount}")
        elif request.amount is not None:
            raise errors.InvalidTransfer(f"{request.key}: a {request.kind} takes no amount")
        debit = self.state.accounts[pending.debit_account_id]
        credit = self.state.accounts[pending.credit_account_id]
        self._add(debit, DP, -pending.amount)
        self._add(credit, CP, -pending.amount)
        if posted:
            self._add(debit, DX, posted)
            self._add(credit, CX, posted)
        self.resolved.add(pending.key)
        amount = posted if request.kind == "post" else pending.amount
        self._accept(
            request._replace(
                pending_key=pending.key, reference=request.reference or pending.reference
            ),
            debit.id,
            credit.id,
            amount,
            currency=pending.currency,
        )

    def _accept(
        self,
        request: TransferRequest,
        debit: AccountId,
        credit: AccountId,
        amount: int,
        currency: str | None = None,
    ) -> None:
        self.keys.add(request.key)
        self.accepted.append(
            NewTransfer(  # positionally: keywords cost more, once per transfer
                request.key,
                request.kind,
                debit,
                credit,
                amount,
                currency or request.currency,
                request.pending_key,
                request.expires_at if request.kind == "pending" else None,
                request.reference,
                meta_json(request.meta),
                request.meta,
            )
        )

    def commit(self) -> None:
        state = self.state
        state.pendings.update(self.created)  # first: one may be resolved in the same transaction
        for key in self.resolved:
            state.resolved.add(key)
            state.pendings.pop(key, None)
        accepted = state.accepted
        for new in self.accepted:
            accepted[new.key] = new
