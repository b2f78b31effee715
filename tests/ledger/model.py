"""A plain in-memory reference ledger for the stateful test (`test_ledger_model.py`).

It implements the semantics documented in `ledger.transfers`, `ledger.batch` and
`ledger.writer` as directly as possible, and shares none of their machinery: no deltas, no
trial objects, no batch state, no database. A transaction runs on a deep copy of the state,
and the copy replaces the state only when every leg passed (atomicity).

- A transaction whose first key exists is a replay: every leg must exist with the same
  content (else `IdempotencyConflict` naming the first field that differs, or `transaction`
  for a leg that does not exist), and the answer is the stored transfers, `replayed`.
- Otherwise each leg is checked and applied in order: a key already used is a conflict on
  `key`; `single`/`pending` check amount, accounts and limits; `post`/`void` resolve an
  unresolved, unexpired pending transfer at most once, a partial post releasing the rest.
- Limits: a debit may not take a DEBITS_MUST_NOT_EXCEED_CREDITS account below zero
  (counting reservations), a credit may not take a CREDITS_MUST_NOT_EXCEED_DEBITS account
  above; a hot account has none.
- Expiry is judged at the writer's clock (`now`): `expires_at <= now` is expired.

The order of checks (which error wins when several apply) follows `ledger.batch`: it is part
of what a caller sees.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger import errors
from ledger.accounts import AccountFlag
from ledger.money import CURRENCY, amount_fen_max
from ledger.transfers import Transfer, TransferRequest, expire_key

COUNTERS = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")


@dataclass(frozen=True, slots=True)
class Stored:
    """The fields of a stored transfer the model predicts (the rest are the writer's)."""

    key: str
    kind: str
    debit_account_id: int
    credit_account_id: int
    amount: int
    currency: str
    pending_key: str | None
    expires_at: datetime | None

    @staticmethod
    def of(transfer: Transfer) -> Stored:
        """The predicted fields of a transfer the ledger answered or stored."""
        return Stored(
            key=transfer.key,
            kind=transfer.kind,
            debit_account_id=int(transfer.debit_account_id),
            credit_account_id=int(transfer.credit_account_id),
            amount=int(transfer.amount),
            currency=transfer.currency,
            pending_key=transfer.pending_key,
            expires_at=transfer.expires_at,
        )


@dataclass(frozen=True, slots=True)
class Expected:
    """What the ledger must answer: the transfers (stored or replayed) or an error."""

    transfers: tuple[Stored, ...] = ()
    error: errors.LedgerError | None = None
    replayed: bool = False


@dataclass(slots=True)
class Balance:
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    def counters(self) -> tuple[int, int, int, int]:
        return (self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted)


@dataclass(slots=True)
class _State:
    balances: dict[int, Balance]
    transfers: dict[str, Stored] = field(default_factory=dict)  # every stored transfer, by key
    open: dict[str, Stored] = field(default_factory=dict)  # unresolved pending, by key
    resolved: set[str] = field(default_factory=set)  # pending keys posted, voided or expired


class LedgerModel:
    """The reference ledger: accounts with their flags and counters, transfers by key."""

    def __init__(self, flags: Mapping[int, AccountFlag], now: datetime) -> None:
        self.flags = dict(flags)
        self.now = now
        self._state = _State({account: Balance() for account in flags})

    # -- reading -------------------------------------------------------------------------

    @property
    def transfers(self) -> Mapping[str, Stored]:
        return self._state.transfers

    @property
    def open_pendings(self) -> Mapping[str, Stored]:
        return self._state.open

    def counters(self, account: int) -> tuple[int, int, int, int]:
        return self._state.balances[account].counters()

    # -- writing -------------------------------------------------------------------------

    def execute(self, requests: Sequence[TransferRequest]) -> Expected:
        assert requests, "a transaction has at least one transfer"
        if requests[0].key in self._state.transfers:
            return self._replay(requests)
        trial = copy.deepcopy(self._state)
        accepted = []
        try:
            for request in requests:
                accepted.append(self._leg(trial, request))
        except errors.LedgerError as problem:
            return Expected(error=problem)  # nothing of the transaction applies
        self._state = trial
        return Expected(tuple(accepted))

    def expire_due(self) -> int:
        """Release every pending transfer past its expiry, as `LedgerWriter.expire_due`."""
        due = sorted(
            (p for p in self._state.open.values() if self._expired(p)),
            key=lambda p: (p.expires_at, p.key),
        )
        expired = 0
        for pending in due:
            request = TransferRequest(expire_key(pending.key), "expire", pending_key=pending.key)
            outcome = self.execute((request,))
            expired += outcome.error is None and not outcome.replayed
        return expired

    # -- the rules -----------------------------------------------------------------------

    def _replay(self, requests: Sequence[TransferRequest]) -> Expected:
        found = []
        for request in requests:
            stored = self._state.transfers.get(request.key)
            if stored is None:
                return Expected(error=errors.IdempotencyConflict(request.key, "transaction"))
            differs = _first_difference(stored, request)
            if differs is not None:
                return Expected(error=errors.IdempotencyConflict(request.key, differs))
            found.append(stored)
        return Expected(tuple(found), replayed=True)

    def _leg(self, state: _State, request: TransferRequest) -> Stored:
        _check_key(request)
        if request.key in state.transfers:  # stored before, or an earlier leg of this one
            raise errors.IdempotencyConflict(request.key, "key")
        if request.kind in ("single", "pending"):
            stored = self._move(state, request)
        elif request.kind in ("post", "void", "expire"):
            stored = self._resolve(state, request)
        else:
            raise errors.InvalidTransfer(f"unknown kind {request.kind!r}")
        state.transfers[stored.key] = stored
        return stored

    def _move(self, state: _State, request: TransferRequest) -> Stored:
        amount = request.amount
        if amount is None or isinstance(amount, bool) or not 0 < amount <= amount_fen_max:
            raise errors.InvalidTransfer(f"{request.key}: bad amount {amount!r}")
        if request.pending_key is not None:
            raise errors.InvalidTransfer(f"{request.key}: only post/void name a pending")
        debit, credit = request.debit_account_id, request.credit_account_id
        if debit == credit:
            raise errors.SameAccount(request.key)
        assert debit is not None
        assert credit is not None
        for account in (debit, credit):
            self._usable(account, request.currency)
        if AccountFlag.DEBITS_MUST_NOT_EXCEED_CREDITS in self.flags[debit]:
            b = state.balances[debit]
            room = b.credits_posted - b.debits_posted - b.debits_pending
            if amount > room:
                raise errors.InsufficientFunds(debit, room, amount)
        if AccountFlag.CREDITS_MUST_NOT_EXCEED_DEBITS in self.flags[credit]:
            b = state.balances[credit]
            room = b.debits_posted - b.credits_posted - b.credits_pending
            if amount > room:
                raise errors.InsufficientFunds(credit, room, amount)
        stored = Stored(
            key=request.key,
            kind=request.kind,
            debit_account_id=debit,
            credit_account_id=credit,
            amount=amount,
            currency=request.currency,
            pending_key=None,
            expires_at=request.expires_at if request.kind == "pending" else None,
        )
        if request.kind == "pending":
            state.balances[debit].debits_pending += amount
            state.balances[credit].credits_pending += amount
            state.open[stored.key] = stored
        else:
            state.balances[debit].debits_posted += amount
            state.balances[credit].credits_posted += amount
        return stored

    def _usable(self, account: int, currency: str) -> None:
        flags = self.flags.get(account)
        if flags is None:
            raise errors.UnknownAccount(f"no account {account}")
        if AccountFlag.CLOSED in flags:
            raise errors.AccountClosed(f"account {account} is closed")
        if currency != CURRENCY:  # every account of the model holds the platform currency
            raise errors.CurrencyMismatch(f"account {account} holds {CURRENCY}")

    def _resolve(self, state: _State, request: TransferRequest) -> Stored:
        key = request.pending_key
        if key is None:
            raise errors.InvalidTransfer(f"{request.key}: names no pending transfer")
        if key in state.resolved:
            raise errors.AlreadyResolved(key)
        pending = state.open.get(key)
        if pending is None:
            raise errors.PendingNotFound(key)
        if request.kind == "expire":
            if not self._expired(pending):
                raise errors.InvalidTransfer(f"{key!r} has not expired")
        elif self._expired(pending):
            raise errors.PendingExpired(key)
        posted = 0
        if request.kind == "post":
            posted = pending.amount if request.amount is None else request.amount
            if isinstance(posted, bool) or not 0 < posted <= pending.amount:
                raise errors.AmountExceedsPending(f"post {posted} of {pending.amount}")
        elif request.amount is not None:
            raise errors.InvalidTransfer(f"{request.key}: a {request.kind} takes no amount")
        debit = state.balances[pending.debit_account_id]
        credit = state.balances[pending.credit_account_id]
        debit.debits_pending -= pending.amount
        debit.debits_posted += posted
        credit.credits_pending -= pending.amount
        credit.credits_posted += posted
        del state.open[key]
        state.resolved.add(key)
        return Stored(
            key=request.key,
            kind=request.kind,
            debit_account_id=pending.debit_account_id,
            credit_account_id=pending.credit_account_id,
            amount=posted if request.kind == "post" else pending.amount,
            currency=pending.currency,
            pending_key=key,
            expires_at=None,
        )

    def _expired(self, pending: Stored) -> bool:
        return pending.expires_at is not None and pending.expires_at <= self.now


def _check_key(request: TransferRequest) -> None:
    """Callers' keys are 1..128 characters and never in the ledger's own namespace; an
    expiry must carry the ledger's key for the pending transfer it releases."""
    if request.kind == "expire":
        if request.pending_key is None or request.key != expire_key(request.pending_key):
            raise errors.InvalidTransfer(request.key)
    elif not 0 < len(request.key) <= 128 or request.key.startswith("ledger:"):
        raise errors.InvalidTransfer(request.key)


def _first_difference(stored: Stored, request: TransferRequest) -> str | None:
    """The first field in which a replayed request differs from what is stored, in the order
    the ledger compares them. A post or void that names no amount takes the pending
    transfer's, so it matches whatever amount was stored (as in TigerBeetle)."""
    expected: dict[str, Any] = {"kind": request.kind, "currency": request.currency}
    if request.kind in ("single", "pending"):
        expected |= {
            "debit_account_id": request.debit_account_id,
            "credit_account_id": request.credit_account_id,
            "amount": request.amount,
        }
        expected["expires_at"] = request.expires_at if request.kind == "pending" else None
    else:
        expected["pending_key"] = request.pending_key
        if request.amount is not None:
            expected["amount"] = request.amount
    for name, value in expected.items():
        if getattr(stored, name) != value:
            return name
    return None
