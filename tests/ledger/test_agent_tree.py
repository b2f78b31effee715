"""Suspending, moving and closing agents keeps the tree consistent, and is audited (SQLite
and PostgreSQL, through the operations that depend on it)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from ledger.accounts import get_account
from ledger.agents import Agent, Level, TreeError, create_agent, find_agent, move_agent, set_status
from ledger.money import Msisdn
from ledger.operations import OperationOutcome, OperationRequest
from ledger.schema import audit_log
from tests.ledger.conftest import MERCHANT, PIN_KEYS, World

LEVEL1, LEVEL2 = Msisdn("8613800000001"), Msisdn("8613800000002")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


async def _agent(world: World, number: Msisdn) -> Agent:
    agent = await world.operations.find_agent(number)
    assert agent is not None
    return agent


async def _allot(
    world: World, parent: Msisdn, child: Msisdn, pin: str, key: str
) -> OperationOutcome:
    params: dict[str, str | int] = {"msisdn": child, "amount_fen": 100, "pin": pin}
    return await world.operations.execute(OperationRequest("allot", parent, params, key, "web"))


async def test_a_suspended_agent_neither_sells_nor_receives_until_reactivated(
    world: World,
) -> None:
    merchant = await _agent(world, MERCHANT)
    async with world.engine.begin() as conn:
        merchant = await set_status(conn, merchant, "suspended", by="admin", now=NOW)
    assert (await world.topup("t1", "8613900000001", 1_000)).code == "agent_inactive"
    assert (await _allot(world, LEVEL2, MERCHANT, "222222", "a1")).code == "agent_inactive"
    async with world.engine.begin() as conn:
        await set_status(conn, merchant, "active", by="admin", now=NOW)
    assert (await world.topup("t2", "8613900000001", 1_000)).code == "ok"
    async with world.engine.connect() as conn:
        actions = (await conn.execute(select(audit_log.c.action))).scalars().all()
    assert actions == ["agent_suspended", "agent_active"]


async def test_a_moved_agent_has_a_new_upline_for_allotments_and_commissions(
    world: World,
) -> None:
    merchant = await _agent(world, MERCHANT)
    async with world.engine.begin() as conn:
        level1 = await find_agent(conn, LEVEL1)
        assert level1 is not None
        other = await create_agent(
            conn,
            msisdn=Msisdn("8613800000009"),
            name="Another Township Store",
            level=Level.LEVEL_2,
            parent=level1,
            pin="135790",
            pin_keys=PIN_KEYS,
            now=NOW,
        )
        moved = await move_agent(conn, merchant, other, by="admin", now=NOW)
    assert moved.parent_id == other.id
    assert (await _allot(world, LEVEL2, MERCHANT, "222222", "old")).code == "not_your_agent"
    assert (
        await _allot(world, other.msisdn, MERCHANT, "135790", "new")
    ).code == "insufficient_funds"
    assert (await world.topup("t", "8613900000001", 10_000)).code == "ok"
    assert (await world.deposit(other.msisdn)).balance == 0
    async with world.engine.connect() as conn:
        earned = (await get_account(conn, other.commission_account_id)).balance
    assert earned == 50  # the level-2 override now goes to the new upline


async def test_moves_that_would_break_the_tree_are_refused(world: World) -> None:
    merchant, level1, level2 = (
        await _agent(world, MERCHANT),
        await _agent(world, LEVEL1),
        await _agent(world, LEVEL2),
    )
    async with world.engine.begin() as conn:
        with pytest.raises(TreeError, match="under a level-2 agent"):
            await move_agent(conn, merchant, level1, by="admin", now=NOW)
        with pytest.raises(TreeError, match="no parent"):
            await move_agent(conn, level1, level2, by="admin", now=NOW)
        with pytest.raises(TreeError, match="status"):
            await set_status(conn, merchant, "gone", by="admin", now=NOW)


async def test_closing_needs_empty_accounts_and_no_agent_below_and_is_final(
    world: World,
) -> None:
    merchant, level2 = await _agent(world, MERCHANT), await _agent(world, LEVEL2)
    async with world.engine.begin() as conn:
        with pytest.raises(TreeError, match="holds money"):
            await set_status(conn, merchant, "closed", by="admin", now=NOW)
        with pytest.raises(TreeError, match="agents under it"):
            await set_status(conn, level2, "closed", by="admin", now=NOW)
    params: dict[str, str | int] = {"msisdn": MERCHANT, "amount_fen": 50_000, "pin": "222222"}
    taken = await world.operations.execute(OperationRequest("reclaim", LEVEL2, params, "r", "web"))
    assert taken.code == "ok"
    merchant = await _agent(world, MERCHANT)
    async with world.engine.begin() as conn:
        closed = await set_status(conn, merchant, "closed", by="admin", now=NOW)
        assert closed.status == "closed"
        with pytest.raises(TreeError, match="is closed"):
            await set_status(conn, closed, "active", by="admin", now=NOW)
