"""Double-entry core: accounts and immutable transfers, single-phase and two-phase.

Semantics follow TigerBeetle: an account keeps debits/credits pending and posted; a transfer
is immutable; a pending transfer reserves funds and is later posted (fully or partly) or
voided, at most once; a client-chosen key makes every write idempotent (same key and content
answers the first transfer, a different content raises IdempotencyConflict naming the field).

Every function here runs inside the caller's transaction (an AsyncConnection), so an
operation can compose several transfers atomically. Balance limits are enforced by a
conditional UPDATE, which is race-free on SQLite and PostgreSQL alike without row locks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import IntFlag
from typing import Any

from sqlalchemy import Row, and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger import errors
from ledger.money import CURRENCY, AccountId, Fen, TransferId, fen
from ledger.schema import accounts, transfers

MetaValue = str | int
Meta = Mapping[str, MetaValue]


class AccountFlag(IntFlag):
    NONE = 0
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1
    CREDITS_MUST_NOT_EXCEED_DEBITS = 2


@dataclass(frozen=True, slots=True)
class Account:
    id: AccountId
    code: str
    kind: str
    currency: str
    flags: AccountFlag
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int

    @property
    def balance(self) -> int:
        """Posted credit balance (credit-normal: what the platform owes the holder)."""
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        """What may still be debited: posted credits less posted and reserved debits."""
        return self.credits_posted - self.debits_posted - self.debits_pending


@dataclass(frozen=True, slots=True)
class Transfer:
    id: TransferId
    key: str
    kind: str
    debit_account_id: AccountId
    credit_account_id: AccountId
    amount: Fen
    currency: str
    pending_id: TransferId | None
    reference: str | None
    meta: Mapping[str, Any]
    created_at: datetime


def _account(row: Row[Any]) -> Account:
    return Account(
        id=AccountId(row.id),
        code=row.code,
        kind=row.kind,
        currency=row.currency,
        flags=AccountFlag(row.flags),
        debits_pending=row.debits_pending,
        debits_posted=row.debits_posted,
        credits_pending=row.credits_pending,
        credits_posted=row.credits_posted,
    )


def _transfer(row: Row[Any]) -> Transfer:
    return Transfer(
        id=TransferId(row.id),
        key=row.key,
        kind=row.kind,
        debit_account_id=AccountId(row.debit_account_id),
        credit_account_id=AccountId(row.credit_account_id),
        amount=Fen(row.amount),
        currency=row.currency,
        pending_id=None if row.pending_id is None else TransferId(row.pending_id),
        reference=row.reference,
        meta=json.loads(row.meta),
        created_at=row.created_at,
    )


async def create_account(
    conn: AsyncConnection,
    code: str,
    kind: str,
    flags: AccountFlag,
    now: datetime,
    currency: str = CURRENCY,
) -> AccountId:
    """Open an account, or answer the existing one with the same code and attributes."""
    existing = await get_account_by_code(conn, code)
    if existing is not None:
        for field, want in (("kind", kind), ("flags", flags), ("currency", currency)):
            if getattr(existing, field) != want:
                raise errors.IdempotencyConflict(code, field)
        return existing.id
    result = await conn.execute(
        insert(accounts).values(
            code=code,
            kind=kind,
            currency=currency,
            flags=int(flags),
            debits_pending=0,
            debits_posted=0,
            credits_pending=0,
            credits_posted=0,
            created_at=now,
        )
    )
    assert result.inserted_primary_key is not None
    return AccountId(result.inserted_primary_key[0])


async def get_account(conn: AsyncConnection, account_id: AccountId) -> Account:
    row = (await conn.execute(select(accounts).where(accounts.c.id == account_id))).first()
    if row is None:
        raise errors.UnknownAccount(f"no account {account_id}")
    return _account(row)


async def get_account_by_code(conn: AsyncConnection, code: str) -> Account | None:
    row = (await conn.execute(select(accounts).where(accounts.c.code == code))).first()
    return None if row is None else _account(row)


async def get_transfer(conn: AsyncConnection, key: str) -> Transfer | None:
    row = (await conn.execute(select(transfers).where(transfers.c.key == key))).first()
    return None if row is None else _transfer(row)


def _same_or_conflict(existing: Transfer, expected: Mapping[str, object]) -> Transfer:
    for field, want in expected.items():
        if getattr(existing, field) != want:
            raise errors.IdempotencyConflict(existing.key, field)
    return existing


async def _apply_debit(
    conn: AsyncConnection, account: Account, amount: int, *, pending: bool
) -> None:
    column = accounts.c.debits_pending if pending else accounts.c.debits_posted
    limited = accounts.c.flags.op("&")(int(AccountFlag.DEBITS_MUST_NOT_EXCEED_CREDITS)) == 0
    room = accounts.c.credits_posted - accounts.c.debits_posted - accounts.c.debits_pending
    result = await conn.execute(
        update(accounts)
        .where(and_(accounts.c.id == account.id, or_(limited, room >= amount)))
        .values({column: column + amount})
    )
    if result.rowcount != 1:
        fresh = await get_account(conn, account.id)
        raise errors.InsufficientFunds(account.id, fresh.available, amount)


async def _apply_credit(
    conn: AsyncConnection, account: Account, amount: int, *, pending: bool
) -> None:
    column = accounts.c.credits_pending if pending else accounts.c.credits_posted
    limited = accounts.c.flags.op("&")(int(AccountFlag.CREDITS_MUST_NOT_EXCEED_DEBITS)) == 0
    room = accounts.c.debits_posted - accounts.c.credits_posted - accounts.c.credits_pending
    result = await conn.execute(
        update(accounts)
        .where(and_(accounts.c.id == account.id, or_(limited, room >= amount)))
        .values({column: column + amount})
    )
    if result.rowcount != 1:
        fresh = await get_account(conn, account.id)
        raise errors.InsufficientFunds(
            account.id, fresh.debits_posted - fresh.credits_posted, amount
        )


async def _insert_transfer(conn: AsyncConnection, values: Mapping[str, Any]) -> Transfer:
    result = await conn.execute(insert(transfers).values(**values))
    assert result.inserted_primary_key is not None
    row = (
        await conn.execute(
            select(transfers).where(transfers.c.id == result.inserted_primary_key[0])
        )
    ).one()
    return _transfer(row)


async def transfer(
    conn: AsyncConnection,
    *,
    key: str,
    debit_account_id: AccountId,
    credit_account_id: AccountId,
    amount: int,
    now: datetime,
    pending: bool = False,
    reference: str | None = None,
    meta: Meta | None = None,
    currency: str = CURRENCY,
) -> Transfer:
    """Move `amount` fen (posted, or reserved when `pending`) from debit to credit account."""
    amount = fen(amount)
    kind = "pending" if pending else "single"
    expected = {
        "kind": kind,
        "debit_account_id": debit_account_id,
        "credit_account_id": credit_account_id,
        "amount": amount,
        "currency": currency,
        "reference": reference,
    }
    existing = await get_transfer(conn, key)
    if existing is not None:
        return _same_or_conflict(existing, expected)
    if debit_account_id == credit_account_id:
        raise errors.SameAccount(f"transfer {key!r} debits and credits account {debit_account_id}")
    debit = await get_account(conn, debit_account_id)
    credit = await get_account(conn, credit_account_id)
    if debit.currency != currency or credit.currency != currency:
        raise errors.CurrencyMismatch(f"transfer {key!r} in {currency}")
    await _apply_debit(conn, debit, amount, pending=pending)
    await _apply_credit(conn, credit, amount, pending=pending)
    return await _insert_transfer(
        conn,
        {**expected, "key": key, "pending_id": None, "meta": _meta(meta), "created_at": now},
    )


async def _pending_to_resolve(conn: AsyncConnection, pending_id: TransferId) -> Transfer:
    row = (await conn.execute(select(transfers).where(transfers.c.id == pending_id))).first()
    if row is None or row.kind != "pending":
        raise errors.PendingNotFound(f"no pending transfer {pending_id}")
    resolved = (
        await conn.execute(select(transfers.c.id).where(transfers.c.pending_id == pending_id))
    ).first()
    if resolved is not None:
        raise errors.AlreadyResolved(f"pending transfer {pending_id} is already resolved")
    return _transfer(row)


async def post_pending(
    conn: AsyncConnection,
    *,
    key: str,
    pending_id: TransferId,
    now: datetime,
    amount: int | None = None,
    meta: Meta | None = None,
) -> Transfer:
    """Post a pending transfer, fully or (with `amount`) partly; the rest is released."""
    existing = await get_transfer(conn, key)
    if existing is not None:
        expected: dict[str, object] = {"kind": "post", "pending_id": pending_id}
        if amount is not None:
            expected["amount"] = amount
        return _same_or_conflict(existing, expected)
    pending = await _pending_to_resolve(conn, pending_id)
    posted = pending.amount if amount is None else fen(amount)
    if posted > pending.amount:
        raise errors.AmountExceedsPending(f"post {posted} > pending {pending.amount}")
    await _shift(conn, pending, posted)
    return await _insert_transfer(conn, _resolution(key, "post", pending, posted, meta, now))


async def void_pending(
    conn: AsyncConnection,
    *,
    key: str,
    pending_id: TransferId,
    now: datetime,
    meta: Meta | None = None,
) -> Transfer:
    """Release a pending transfer's reservation entirely."""
    existing = await get_transfer(conn, key)
    if existing is not None:
        return _same_or_conflict(existing, {"kind": "void", "pending_id": pending_id})
    pending = await _pending_to_resolve(conn, pending_id)
    await _shift(conn, pending, 0)
    return await _insert_transfer(
        conn, _resolution(key, "void", pending, pending.amount, meta, now)
    )


async def _shift(conn: AsyncConnection, pending: Transfer, posted: int) -> None:
    """Release the reservation and post `posted` of it (0 for a void)."""
    reserved = pending.amount
    await conn.execute(
        update(accounts)
        .where(accounts.c.id == pending.debit_account_id)
        .values(
            debits_pending=accounts.c.debits_pending - reserved,
            debits_posted=accounts.c.debits_posted + posted,
        )
    )
    await conn.execute(
        update(accounts)
        .where(accounts.c.id == pending.credit_account_id)
        .values(
            credits_pending=accounts.c.credits_pending - reserved,
            credits_posted=accounts.c.credits_posted + posted,
        )
    )


def _resolution(
    key: str, kind: str, pending: Transfer, amount: int, meta: Meta | None, now: datetime
) -> dict[str, Any]:
    return {
        "key": key,
        "kind": kind,
        "debit_account_id": pending.debit_account_id,
        "credit_account_id": pending.credit_account_id,
        "amount": amount,
        "currency": pending.currency,
        "pending_id": pending.id,
        "reference": pending.reference,
        "meta": _meta(meta),
        "created_at": now,
    }


def _meta(meta: Meta | None) -> str:
    return json.dumps(dict(meta or {}), sort_keys=True, ensure_ascii=False)
