"""Opening accounts: one at a time (open-or-find) and in bulk (new ones only, all or none)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger import errors
from ledger.accounts import AccountFlag, AccountSpec, create_account, get_accounts, open_accounts
from ledger.schema import account_balances, accounts
from tests.ledger.conftest import T0

LIMITED = AccountFlag.DEBITS_MUST_NOT_EXCEED_CREDITS


async def count(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        opened = (await conn.execute(select(func.count()).select_from(accounts))).scalar_one()
        rows = (await conn.execute(select(func.count()).select_from(account_balances))).scalar_one()
    return opened, rows


async def test_bulk_opening_answers_ids_in_order_with_zero_balances(engine: AsyncEngine) -> None:
    specs = [AccountSpec(f"a{i}", "deposit", LIMITED) for i in range(300)]
    specs.append(AccountSpec("clearing", "platform", AccountFlag.HOT))
    async with engine.begin() as conn:
        ids = await open_accounts(conn, specs, T0)
        found = await get_accounts(conn, ids)
    assert len(set(ids)) == len(specs)
    assert [found[i].code for i in ids] == [s.code for s in specs]
    assert all(found[i].flags == s.flags for i, s in zip(ids, specs, strict=True))
    assert all(found[i].balance == 0 and found[i].debits_pending == 0 for i in ids)
    async with engine.begin() as conn:  # and open-or-find sees them
        assert await create_account(conn, "a7", "deposit", LIMITED, T0) == ids[7]
        with pytest.raises(errors.IdempotencyConflict):
            await create_account(conn, "a7", "commission", LIMITED, T0)


async def test_a_taken_code_fails_the_whole_bulk_call(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await create_account(conn, "taken", "deposit", LIMITED, T0)
    before = await count(engine)
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await open_accounts(
                conn,
                [
                    AccountSpec("fresh", "deposit", LIMITED),
                    AccountSpec("taken", "deposit", LIMITED),
                ],
                T0,
            )
    assert await count(engine) == before


async def test_a_hot_account_cannot_carry_a_limit(engine: AsyncEngine) -> None:
    before = await count(engine)
    async with engine.begin() as conn:
        with pytest.raises(ValueError, match="hot"):
            await open_accounts(conn, [AccountSpec("x", "platform", AccountFlag.HOT | LIMITED)], T0)
        with pytest.raises(ValueError, match="hot"):
            await create_account(conn, "y", "platform", AccountFlag.HOT | LIMITED, T0)
    assert await count(engine) == before
