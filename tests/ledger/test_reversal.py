"""Reversal (冲正) of a posted sale (SQLite and PostgreSQL, BOSS emulator over HTTP): money
and commissions come back in one transaction, once, within the window; a subscriber who spent
it keeps the sale standing; an unanswered reversal is settled by the resolver."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.accounts import get_account
from ledger.money import Msisdn
from ledger.operations import OperationOutcome, OperationRequest
from ledger.operations.resolver import SweepReport
from ledger.schema import operations
from ledger.verify import verify
from tests.ledger.conftest import MERCHANT, T0, Clock, World, open_world

PREPAID = "8613900000001"  # ¥10.00 at the start


async def _reverse(world: World, ref: str, key: str, actor: Msisdn = MERCHANT) -> OperationOutcome:
    pin = {MERCHANT: "333333", Msisdn("8613800000002"): "222222"}[actor]
    request = OperationRequest("reversal", actor, {"ref": ref, "pin": pin}, key, "web")
    return await world.operations.execute(request)


async def _commissions(world: World) -> list[int]:
    found = []
    for number in ("8613800000003", "8613800000002", "8613800000001"):
        agent = await world.operations.find_agent(Msisdn(number))
        assert agent is not None
        async with world.engine.connect() as conn:
            found.append((await get_account(conn, agent.commission_account_id)).balance)
    return found


async def _sale(world: World, amount: int = 10_000) -> str:
    outcome = await world.topup("sale", PREPAID, amount)
    assert outcome.code == "ok"
    return str(outcome.values["ref"])


async def _states(world: World) -> dict[str, str]:
    async with world.engine.connect() as conn:
        rows = (await conn.execute(select(operations.c.kind, operations.c.state))).all()
    return {kind: state for kind, state in rows}


async def test_a_reversal_returns_the_money_and_claws_back_the_commissions(world: World) -> None:
    ref = await _sale(world)
    assert await _commissions(world) == [200, 50, 30]
    outcome = await _reverse(world, ref, "r1")
    assert (outcome.code, outcome.values["balance_fen"]) == ("ok", 50_000)
    assert world.boss_balance(PREPAID) == 1_000
    assert await _commissions(world) == [0, 0, 0]
    deposit = await world.deposit()
    assert (deposit.balance, deposit.debits_pending) == (50_000, 0)
    assert await _states(world) == {"topup": "reversed", "reversal": "posted"}
    assert (await _reverse(world, ref, "r1")).code == "ok"  # a replay
    assert (await _reverse(world, ref, "r2")).code == "not_reversible"  # once per sale
    assert world.boss_balance(PREPAID) == 1_000
    assert (await verify(world.engine)).ok


async def test_only_the_seller_within_the_window_may_reverse(engine: AsyncEngine) -> None:
    clock = Clock(T0)
    async with open_world(engine, clock=clock) as world:
        ref = await _sale(world)
        other = await _reverse(world, ref, "x", Msisdn("8613800000002"))
        assert other.code == "unknown_reference"
        assert (await _reverse(world, "AC000000000000NOSUCHREF", "y")).code == "unknown_reference"
        clock.now = T0 + timedelta(minutes=31)
        late = await _reverse(world, ref, "z")
        assert (late.code, late.values["minutes"]) == ("reversal_window_passed", 30)
        assert world.boss_balance(PREPAID) == 11_000


async def test_a_subscriber_who_spent_it_keeps_the_sale_standing(world: World) -> None:
    ref = await _sale(world)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{world.boss_url}/boss/transfer",
            json={"ref": "spend", "from": PREPAID, "to": "8613900000002", "amount": 10_500},
        ) as spent,
    ):
        assert spent.status == 200
    outcome = await _reverse(world, ref, "r1")
    assert outcome.code == "insufficient_balance"
    assert (await world.deposit()).balance == 40_000
    assert await _commissions(world) == [200, 50, 30]
    assert await _states(world) == {"topup": "posted", "reversal": "failed"}
    assert (await verify(world.engine)).ok


async def test_an_unanswered_reversal_is_settled_by_the_resolver(world: World) -> None:
    ref = await _sale(world)
    await world.set_faults(lost_response_rate=1.0)
    assert (await _reverse(world, ref, "r1")).code == "pending"
    await world.set_faults()
    assert await world.operations.resolve_due() == SweepReport(posted=1)
    assert await _states(world) == {"topup": "reversed", "reversal": "posted"}
    assert (await world.deposit()).balance == 50_000
    assert await _commissions(world) == [0, 0, 0]
