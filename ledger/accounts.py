"""Accounts: opened directly (rarely), read with their balances summed over shards.

A *limited* account (an agent's deposit or commission: debits must not exceed credits) has
one balance row, which the writer changing it locks. A *hot* account (a platform account
every operation touches) has no limit and a balance row per writer shard, so concurrent
writers never queue on it; its balance is the sum of its rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntFlag
from typing import Final, NamedTuple

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger import errors
from ledger.money import CURRENCY, AccountId
from ledger.schema import account_balances, accounts

LIMITED_SHARD: Final = 0
hot_shards_max: Final = 64  # a writer adds to shard (writer id % this) of a hot account


class AccountFlag(IntFlag):
    NONE = 0
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1
    CREDITS_MUST_NOT_EXCEED_DEBITS = 2
    HOT = 4  # sharded balance; may carry no limit
    CLOSED = 8  # refuses new transfers

    @property
    def limited(self) -> bool:
        return bool(
            self
            & (
                AccountFlag.DEBITS_MUST_NOT_EXCEED_CREDITS
                | AccountFlag.CREDITS_MUST_NOT_EXCEED_DEBITS
            )
        )


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


class AccountSpec(NamedTuple):
    code: str
    kind: str
    flags: AccountFlag
    currency: str = CURRENCY


def _check(spec: AccountSpec) -> None:
    if AccountFlag.HOT in spec.flags and spec.flags.limited:
        raise ValueError(f"{spec.code}: a hot (sharded) account cannot carry a balance limit")


async def create_account(
    conn: AsyncConnection,
    code: str,
    kind: str,
    flags: AccountFlag,
    now: datetime,
    currency: str = CURRENCY,
) -> AccountId:
    """Open an account, or answer the existing one with the same code and attributes."""
    spec = AccountSpec(code, kind, flags, currency)
    _check(spec)
    existing = (await conn.execute(select(accounts).where(accounts.c.code == code))).first()
    if existing is not None:
        for field, want in (("kind", kind), ("flags", int(flags)), ("currency", currency)):
            if getattr(existing, field) != want:
                raise errors.IdempotencyConflict(code, field)
        return AccountId(existing.id)
    (account_id,) = await open_accounts(conn, [spec], now)
    return account_id


async def open_accounts(
    conn: AsyncConnection, specs: Sequence[AccountSpec], now: datetime
) -> list[AccountId]:
    """Open new accounts in bulk (two statements, whatever their number), answering their ids
    in the order given. A code already taken fails the whole call (the unique index); use
    `create_account` to open-or-find one."""
    for spec in specs:
        _check(spec)
    if not specs:
        return []
    rows = await conn.execute(
        insert(accounts).returning(accounts.c.id, sort_by_parameter_order=True),
        [
            {
                "code": s.code,
                "kind": s.kind,
                "currency": s.currency,
                "flags": int(s.flags),
                "created_at": now,
            }
            for s in specs
        ],
    )
    ids = [AccountId(account_id) for (account_id,) in rows]
    zero = {"debits_pending": 0, "debits_posted": 0, "credits_pending": 0, "credits_posted": 0}
    await conn.execute(
        insert(account_balances),
        [{"account_id": account_id, "shard": LIMITED_SHARD, **zero} for account_id in ids],
    )
    return ids


async def get_accounts(conn: AsyncConnection, ids: Iterable[AccountId]) -> dict[AccountId, Account]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    totals = (
        select(
            account_balances.c.account_id,
            func.sum(account_balances.c.debits_pending).label("dp"),
            func.sum(account_balances.c.debits_posted).label("dx"),
            func.sum(account_balances.c.credits_pending).label("cp"),
            func.sum(account_balances.c.credits_posted).label("cx"),
        )
        .where(account_balances.c.account_id.in_(wanted))
        .group_by(account_balances.c.account_id)
        .subquery()
    )
    rows = await conn.execute(
        select(accounts, totals).join(totals, totals.c.account_id == accounts.c.id)
    )
    return {
        AccountId(row.id): Account(
            id=AccountId(row.id),
            code=row.code,
            kind=row.kind,
            currency=row.currency,
            flags=AccountFlag(row.flags),
            debits_pending=int(row.dp),
            debits_posted=int(row.dx),
            credits_pending=int(row.cp),
            credits_posted=int(row.cx),
        )
        for row in rows
    }


async def get_account(conn: AsyncConnection, account_id: AccountId) -> Account:
    found = await get_accounts(conn, [account_id])
    if account_id not in found:
        raise errors.UnknownAccount(f"no account {account_id}")
    return found[account_id]
