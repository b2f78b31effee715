"""The double-entry core on SQLite and PostgreSQL: transfers, two-phase, idempotency, limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger import core, errors
from ledger.core import AccountFlag
from ledger.money import AccountId
from ledger.schema import accounts, transfers

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
LIMITED = AccountFlag.DEBITS_MUST_NOT_EXCEED_CREDITS


async def _open(engine: AsyncEngine) -> tuple[AccountId, AccountId]:
    """A bank account (unlimited) and an agent deposit (never below zero) holding 1000 fen."""
    async with engine.begin() as conn:
        bank = await core.create_account(conn, "bank", "platform", AccountFlag.NONE, NOW)
        agent = await core.create_account(conn, "agent", "deposit", LIMITED, NOW)
        await core.transfer(
            conn, key="fund", debit_account_id=bank, credit_account_id=agent, amount=1000, now=NOW
        )
    return bank, agent


async def _balances_sum_to_zero(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(
                    func.sum(accounts.c.credits_posted - accounts.c.debits_posted),
                    func.sum(accounts.c.credits_pending - accounts.c.debits_pending),
                )
            )
        ).one()
    assert tuple(int(v) for v in row) == (0, 0)


async def test_single_transfer_moves_money_and_conserves(engine: AsyncEngine) -> None:
    bank, agent = await _open(engine)
    async with engine.connect() as conn:
        assert (await core.get_account(conn, agent)).balance == 1000
        assert (await core.get_account(conn, bank)).balance == -1000
    await _balances_sum_to_zero(engine)


async def test_overdraft_is_refused_and_writes_nothing(engine: AsyncEngine) -> None:
    bank, agent = await _open(engine)
    with pytest.raises(errors.InsufficientFunds) as caught:
        async with engine.begin() as conn:
            await core.transfer(
                conn, key="t", debit_account_id=agent, credit_account_id=bank, amount=1001, now=NOW
            )
    assert (caught.value.available, caught.value.wanted) == (1000, 1001)
    async with engine.connect() as conn:
        assert await core.get_transfer(conn, "t") is None
        assert (await core.get_account(conn, agent)).balance == 1000


async def test_replay_answers_the_first_transfer_and_conflict_names_the_field(
    engine: AsyncEngine,
) -> None:
    bank, agent = await _open(engine)
    async with engine.begin() as conn:
        first = await core.transfer(
            conn, key="t", debit_account_id=agent, credit_account_id=bank, amount=300, now=NOW
        )
        again = await core.transfer(
            conn, key="t", debit_account_id=agent, credit_account_id=bank, amount=300, now=NOW
        )
    assert again == first
    with pytest.raises(errors.IdempotencyConflict) as caught:
        async with engine.begin() as conn:
            await core.transfer(
                conn, key="t", debit_account_id=agent, credit_account_id=bank, amount=301, now=NOW
            )
    assert caught.value.field == "amount"
    async with engine.connect() as conn:
        assert (await core.get_account(conn, agent)).balance == 700
        count = (await conn.execute(select(func.count()).select_from(transfers))).scalar_one()
    assert count == 2  # fund + t, nothing from the replay or the conflict


async def test_pending_reserves_then_post_or_void_resolves_once(engine: AsyncEngine) -> None:
    bank, agent = await _open(engine)
    async with engine.begin() as conn:
        held = await core.transfer(
            conn,
            key="p1",
            debit_account_id=agent,
            credit_account_id=bank,
            amount=600,
            now=NOW,
            pending=True,
        )
        deposit = await core.get_account(conn, agent)
        assert (deposit.balance, deposit.available) == (1000, 400)
        # the reservation counts against a second one
        with pytest.raises(errors.InsufficientFunds):
            await core.transfer(
                conn,
                key="p2",
                debit_account_id=agent,
                credit_account_id=bank,
                amount=401,
                now=NOW,
                pending=True,
            )
        await core.post_pending(conn, key="p1:post", pending_id=held.id, now=NOW, amount=500)
        deposit = await core.get_account(conn, agent)
        assert (deposit.balance, deposit.available, deposit.debits_pending) == (500, 500, 0)
        with pytest.raises(errors.AlreadyResolved):
            await core.void_pending(conn, key="p1:void", pending_id=held.id, now=NOW)
        # replaying the post with its key answers it again, posting nothing more
        replay = await core.post_pending(conn, key="p1:post", pending_id=held.id, now=NOW)
        assert replay.amount == 500
        assert (await core.get_account(conn, agent)).balance == 500
    await _balances_sum_to_zero(engine)


async def test_void_releases_the_whole_reservation(engine: AsyncEngine) -> None:
    bank, agent = await _open(engine)
    async with engine.begin() as conn:
        held = await core.transfer(
            conn,
            key="p",
            debit_account_id=agent,
            credit_account_id=bank,
            amount=1000,
            now=NOW,
            pending=True,
        )
        await core.void_pending(conn, key="p:void", pending_id=held.id, now=NOW)
        deposit = await core.get_account(conn, agent)
    assert (deposit.balance, deposit.available, deposit.debits_pending) == (1000, 1000, 0)
    await _balances_sum_to_zero(engine)


@pytest.mark.parametrize("amount", [0, -5, True, 10**13])
async def test_bad_amounts_are_refused(engine: AsyncEngine, amount: int) -> None:
    bank, agent = await _open(engine)
    with pytest.raises((ValueError, TypeError)):
        async with engine.begin() as conn:
            await core.transfer(
                conn,
                key="x",
                debit_account_id=agent,
                credit_account_id=bank,
                amount=amount,
                now=NOW,
            )


async def test_unknown_account_and_same_account(engine: AsyncEngine) -> None:
    bank, _ = await _open(engine)
    with pytest.raises(errors.UnknownAccount):
        async with engine.begin() as conn:
            await core.transfer(
                conn,
                key="x",
                debit_account_id=bank,
                credit_account_id=AccountId(9999),
                amount=1,
                now=NOW,
            )
    with pytest.raises(errors.SameAccount):
        async with engine.begin() as conn:
            await core.transfer(
                conn, key="y", debit_account_id=bank, credit_account_id=bank, amount=1, now=NOW
            )
