"""What callers hand the writer: transactions of transfer requests (and records to write with
them), and what they get back: the stored, immutable transfers or one typed error.

A transaction is atomic: every transfer in it is applied, or none is. Replaying a transaction
whose transfers exist with the same content answers them (`replayed`); a key that exists
with other content is an IdempotencyConflict naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final, Literal, NamedTuple

from sqlalchemy import Table

from ledger.clock import from_micros
from ledger.errors import LedgerError
from ledger.money import CURRENCY, AccountId, Fen

Kind = Literal["single", "pending", "post", "void", "expire"]
MetaValue = str | int

key_length_max: Final = 128  # a caller's transfer key
reference_length_max: Final = 64
RESERVED_KEY_PREFIX: Final = "ledger:"  # keys the ledger writes itself (expiries)


def expire_key(pending_key: str) -> str:
    """The key under which the ledger releases an expired pending transfer."""
    return f"{RESERVED_KEY_PREFIX}expire:{pending_key}"


NO_META: Final[Mapping[str, MetaValue]] = MappingProxyType({})


class TransferRequest(NamedTuple):
    """One leg. `single`/`pending` name both accounts and the amount; `post` names the pending
    transfer (and optionally a smaller amount); `void` names only the pending transfer.
    (Named tuples, this and `Transfer`: immutable, and several times cheaper to make than a
    frozen dataclass, which counts once per transfer on the writer's hot path.)"""

    key: str
    kind: Kind
    debit_account_id: AccountId | None = None
    credit_account_id: AccountId | None = None
    amount: int | None = None
    pending_key: str | None = None
    expires_at: datetime | None = None
    reference: str | None = None
    meta: Mapping[str, MetaValue] = NO_META
    currency: str = CURRENCY

    @staticmethod
    def single(
        key: str, debit: AccountId, credit: AccountId, amount: int, **extra: Any
    ) -> TransferRequest:
        return TransferRequest(key, "single", debit, credit, amount, **extra)

    @staticmethod
    def pending(
        key: str, debit: AccountId, credit: AccountId, amount: int, **extra: Any
    ) -> TransferRequest:
        return TransferRequest(key, "pending", debit, credit, amount, **extra)

    @staticmethod
    def post(
        key: str, pending_key: str, amount: int | None = None, **extra: Any
    ) -> TransferRequest:
        return TransferRequest(key, "post", amount=amount, pending_key=pending_key, **extra)

    @staticmethod
    def void(key: str, pending_key: str, **extra: Any) -> TransferRequest:
        return TransferRequest(key, "void", pending_key=pending_key, **extra)


@dataclass(frozen=True, slots=True)
class RecordInsert:
    """A row written in the same commit as the transaction's transfers (an operation record)."""

    table: Table
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RecordUpdate:
    table: Table
    key_column: str
    key_value: Any
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RecordAdd:
    """Add to counters of one row (created at zero when missing) in the transaction's commit,
    under caps the commit itself checks: a counter that would pass its cap refuses the whole
    transaction with `errors.LimitExceeded(limit)`, and nothing of it is written. Limits that
    concurrent requests race for (a daily amount) are exact this way, on any number of writers."""

    table: Table
    key: Mapping[str, Any]  # the row's primary key
    add: Mapping[str, int]
    caps: Mapping[str, int]  # column → the most it may hold after the add
    limit: str  # what a refusal names

    def fits_alone(self) -> bool:
        return all(self.add.get(column, 0) <= cap for column, cap in self.caps.items())


Record = RecordInsert | RecordUpdate | RecordAdd


class Transaction(NamedTuple):
    """Transfers applied atomically, and the records written with them. One without
    transfers is refused by the writer (`InvalidTransfer`)."""

    transfers: tuple[TransferRequest, ...]
    records: tuple[Record, ...] = ()


class Transfer(NamedTuple):
    """A stored transfer: immutable, in one writer's hash chain."""

    key: str
    kind: Kind
    debit_account_id: AccountId
    credit_account_id: AccountId
    amount: Fen
    currency: str
    pending_key: str | None
    expires_at: datetime | None
    reference: str | None
    meta: Mapping[str, Any]
    created_at: datetime
    writer_id: int
    seq: int
    hash: str

    @staticmethod
    def from_row(row: Any) -> Transfer:
        return Transfer(
            key=row.key,
            kind=row.kind,
            debit_account_id=AccountId(row.debit_account_id),
            credit_account_id=AccountId(row.credit_account_id),
            amount=Fen(row.amount),
            currency=row.currency,
            pending_key=row.pending_key,
            expires_at=None if row.expires_at_us is None else from_micros(row.expires_at_us),
            reference=row.reference,
            meta=json.loads(row.meta),
            created_at=from_micros(row.created_at_us),
            writer_id=row.writer_id,
            seq=row.seq,
            hash=row.hash,
        )


NO_BALANCES: Final[Mapping[AccountId, int]] = MappingProxyType({})


class TransactionResult(NamedTuple):
    """`available`: for a transaction accepted now, what each limited account it touched may
    still have debited as of the end of its batch (what a re-read just after the commit could
    at best answer); empty for replays and refusals."""

    transfers: tuple[Transfer, ...] = ()
    error: LedgerError | None = None
    replayed: bool = False
    available: Mapping[AccountId, int] = NO_BALANCES

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> tuple[Transfer, ...]:
        if self.error is not None:
            raise self.error
        return self.transfers


def meta_json(meta: Mapping[str, MetaValue]) -> str:
    if not meta:
        return "{}"
    return json.dumps(dict(meta), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
