"""Allotment down the tree and taking it back, through the operation service (SQLite and
PostgreSQL): only between a parent and its direct child, idempotent, and money conserved."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.money import Msisdn
from ledger.operations import OperationOutcome, OperationRequest
from ledger.schema import agents
from ledger.verify import verify
from tests.ledger.conftest import MERCHANT, World

LEVEL1, LEVEL2 = Msisdn("8613800000001"), Msisdn("8613800000002")
PINS = {LEVEL1: "111111", LEVEL2: "222222", MERCHANT: "333333"}


async def _run(
    world: World, name: str, actor: Msisdn, target: str, amount: int, key: str
) -> OperationOutcome:
    params: dict[str, str | int] = {"msisdn": target, "amount_fen": amount, "pin": PINS[actor]}
    return await world.operations.execute(OperationRequest(name, actor, params, key, "sms"))


async def test_a_parent_allots_to_its_child_once_whatever_the_retries(world: World) -> None:
    outcome = await _run(world, "allot", LEVEL2, MERCHANT, 10_000, "a1")
    assert outcome.code == "ok"
    assert dict(outcome.values) == {
        "ref": outcome.values["ref"],
        "msisdn": MERCHANT,
        "amount_fen": 10_000,
        "balance_fen": 190_000,
    }
    again = await _run(world, "allot", LEVEL2, MERCHANT, 10_000, "a1")
    assert (again.code, again.values["ref"]) == ("ok", outcome.values["ref"])
    assert (await world.deposit(MERCHANT)).balance == 60_000
    assert (await world.deposit(LEVEL2)).balance == 190_000
    conflict = await _run(world, "allot", LEVEL2, MERCHANT, 20_000, "a1")
    assert conflict.code == "conflict"
    assert (await world.deposit(MERCHANT)).balance == 60_000


async def test_only_a_direct_child_can_be_allotted_to(world: World) -> None:
    for actor, target in ((LEVEL1, MERCHANT), (MERCHANT, LEVEL2), (LEVEL2, LEVEL1)):
        refused = await _run(world, "allot", actor, target, 100, f"{actor}{target}")
        assert refused.code == "not_your_agent", (actor, target)
    unknown = await _run(world, "allot", LEVEL2, "8613900000001", 100, "sub")
    assert unknown.code == "not_your_agent"
    assert (await world.deposit(MERCHANT)).balance == 50_000


async def test_more_than_the_deposit_holds_is_refused(world: World) -> None:
    refused = await _run(world, "allot", LEVEL2, MERCHANT, 200_001, "big")
    assert (refused.code, refused.values["available_fen"]) == ("insufficient_funds", 200_000)
    assert (await world.deposit(LEVEL2)).balance == 200_000


async def test_a_suspended_child_gets_nothing(world: World, engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(agents).where(agents.c.msisdn == MERCHANT).values(status="suspended")
        )
    refused = await _run(world, "allot", LEVEL2, MERCHANT, 100, "s")
    assert refused.code == "agent_inactive"


async def test_a_parent_takes_back_what_the_child_has(world: World) -> None:
    assert (await _run(world, "reclaim", LEVEL2, MERCHANT, 30_000, "r1")).code == "ok"
    too_much = await _run(world, "reclaim", LEVEL2, MERCHANT, 20_001, "r2")
    assert (too_much.code, too_much.values["available_fen"]) == ("insufficient_funds", 20_000)
    assert (await _run(world, "reclaim", LEVEL1, MERCHANT, 1, "r3")).code == "not_your_agent"
    assert (await world.deposit(MERCHANT)).balance == 20_000
    assert (await world.deposit(LEVEL2)).balance == 230_000
    report = await verify(world.engine)
    assert report.ok, report
