"""The platform's own accounts, opened once and found by code.

bank_clearing mirrors money held at the bank (deposits arrive from it); boss_clearing is
what the platform owes the operator's billing system for credited airtime; commission_expense
pays agents' commissions; suspense holds what cannot be placed yet. None has a balance
limit: they may go either way, and conservation (all balances sum to zero) is what verify
checks. All are hot: their balances are sharded per writer, so no writer waits on another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.accounts import AccountFlag, create_account
from ledger.money import AccountId

BANK_CLEARING = "platform:bank_clearing"
BOSS_CLEARING = "platform:boss_clearing"
COMMISSION_EXPENSE = "platform:commission_expense"
SUSPENSE = "platform:suspense"


@dataclass(frozen=True, slots=True)
class PlatformAccounts:
    bank_clearing: AccountId
    boss_clearing: AccountId
    commission_expense: AccountId
    suspense: AccountId


async def ensure_platform_accounts(conn: AsyncConnection, now: datetime) -> PlatformAccounts:
    """Open the platform accounts if missing (idempotent) and answer their ids."""
    ids = [
        await create_account(conn, code, kind=code.split(":")[1], flags=AccountFlag.HOT, now=now)
        for code in (BANK_CLEARING, BOSS_CLEARING, COMMISSION_EXPENSE, SUSPENSE)
    ]
    return PlatformAccounts(*ids)
