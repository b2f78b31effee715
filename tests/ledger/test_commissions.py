"""Commissions: the split for each seller level, rounding down to the fen, and the legs riding
in the post's own transaction of a real top-up (SQLite and PostgreSQL, BOSS emulator)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from ledger.accounts import get_account
from ledger.agents import Agent, Level
from ledger.commissions import DEMO_PLAN, CommissionPlan, commission_key, shares
from ledger.money import AccountId, Msisdn
from ledger.platform_accounts import COMMISSION_EXPENSE
from ledger.schema import accounts, transfers
from tests.ledger.conftest import World

PREPAID = "8613900000001"


def _agent(agent_id: int, level: Level, parent: int | None) -> Agent:
    return Agent(
        id=agent_id,
        msisdn=Msisdn(f"861380000000{agent_id}"),
        name=f"agent {agent_id}",
        level=level,
        parent_id=parent,
        status="active",
        language="zh-CN",
        deposit_account_id=AccountId(100 + agent_id),
        commission_account_id=AccountId(200 + agent_id),
        pin_hash="",
    )


LEVEL1 = _agent(1, Level.LEVEL_1, None)
LEVEL2 = _agent(2, Level.LEVEL_2, 1)
MERCHANT = _agent(3, Level.MERCHANT, 2)


def _split(seller: Agent, above: list[Agent], amount: int) -> dict[int, int]:
    return {share.agent.id: share.amount for share in shares(DEMO_PLAN, seller, above, amount)}


def test_each_seller_level_earns_its_rate_and_its_ancestors_their_overrides() -> None:
    assert _split(MERCHANT, [LEVEL2, LEVEL1], 10_000) == {3: 200, 2: 50, 1: 30}
    assert _split(LEVEL2, [LEVEL1], 10_000) == {2: 200, 1: 30}
    assert _split(LEVEL1, [], 10_000) == {1: 200}


def test_shares_round_down_to_the_fen_and_zero_shares_are_left_out() -> None:
    # ¥1: 2 % is 2 fen; 0.5 % and 0.3 % are under one fen and stay with the platform
    assert _split(MERCHANT, [LEVEL2, LEVEL1], 100) == {3: 2}
    # ¥3.33: 6.66 → 6, 1.665 → 1, 0.999 → 0
    assert _split(MERCHANT, [LEVEL2, LEVEL1], 333) == {3: 6, 2: 1}


@given(
    amount=st.integers(1, 10**9),
    seller_bp=st.integers(0, 2000),
    l1=st.integers(0, 2000),
    l2=st.integers(0, 2000),
)
def test_no_share_exceeds_its_exact_rate_nor_falls_a_fen_short(
    amount: int, seller_bp: int, l1: int, l2: int
) -> None:
    plan = CommissionPlan(seller_bp, l1, l2)
    earned = {s.agent.id: s.amount for s in shares(plan, MERCHANT, [LEVEL2, LEVEL1], amount)}
    for agent_id, bp in ((3, seller_bp), (2, l2), (1, l1)):
        exact = amount * bp / 10_000
        got = earned.get(agent_id, 0)
        assert got <= exact < got + 1
        assert isinstance(got, int)


@pytest.mark.parametrize(
    ("field", "value"), [("seller_bp", -1), ("level1_override_bp", 2001), ("seller_bp", 1.5)]
)
def test_a_plan_out_of_range_is_refused(field: str, value: object) -> None:
    with pytest.raises((ValueError, TypeError), match=field):
        CommissionPlan(**{field: value})  # type: ignore[arg-type]


async def _commission_balance(world: World, msisdn: str) -> int:
    agent = await world.operations.find_agent(Msisdn(msisdn))
    assert agent is not None
    async with world.engine.connect() as conn:
        return (await get_account(conn, agent.commission_account_id)).balance


async def test_a_posted_topup_pays_commissions_in_the_posts_transaction(world: World) -> None:
    outcome = await world.topup("c1", PREPAID, 10_000)
    assert outcome.code == "ok"
    assert await _commission_balance(world, "8613800000003") == 200
    assert await _commission_balance(world, "8613800000002") == 50
    assert await _commission_balance(world, "8613800000001") == 30
    ref = str(outcome.values["ref"])
    async with world.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(transfers.c.key, transfers.c.kind, transfers.c.created_at_us)
                .where(transfers.c.reference == ref)
                .order_by(transfers.c.seq)
            )
        ).all()
        expense_id = (
            await conn.execute(select(accounts.c.id).where(accounts.c.code == COMMISSION_EXPENSE))
        ).scalar_one()
        expense = await get_account(conn, AccountId(expense_id))
    kinds = [row.kind for row in rows]
    assert kinds == ["pending", "post", "single", "single", "single"]
    post_commit = {row.created_at_us for row in rows[1:]}
    assert len(post_commit) == 1, "the post and its commission legs are one commit"
    merchant = await world.operations.find_agent(Msisdn("8613800000003"))
    assert merchant is not None
    assert commission_key(ref, merchant.id) in {row.key for row in rows}
    assert expense.balance == -280
    # a replay pays nothing more
    assert (await world.topup("c1", PREPAID, 10_000)).code == "ok"
    assert await _commission_balance(world, "8613800000003") == 200


async def test_a_failed_topup_pays_no_commission(world: World) -> None:
    assert (await world.topup("c2", "8613700000001", 10_000)).code == "not_prepaid"
    for number in ("8613800000001", "8613800000002", "8613800000003"):
        assert await _commission_balance(world, number) == 0
