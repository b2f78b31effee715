"""A sale reads the agent's status, lock and PIN afresh (`ledger.operations.sale_reads`):
a change made through this service or through another service on the same database (as a
second platform process on PostgreSQL) is seen by the very next top-up."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.agents import find_agent, set_status
from ledger.operations import OperationRequest
from tests.ledger.conftest import MERCHANT, MERCHANT_PIN, T0, World, open_world

PREPAID = "8613900000001"
NEW_PIN = "246813"


async def _change_pin(world: World, key: str) -> None:
    request = OperationRequest(
        "change_pin",
        MERCHANT,
        {"old_pin": MERCHANT_PIN, "new_pin": NEW_PIN},
        key,
        "sms",
    )
    outcome = await world.operations.execute(request)
    assert outcome.ok, outcome


async def _suspend(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        agent = await find_agent(conn, MERCHANT)
        assert agent is not None
        await set_status(conn, agent, "suspended", by="admin", now=T0)


async def test_a_pin_change_counts_for_the_next_sale_here_and_in_another_service(
    engine: AsyncEngine,
) -> None:
    async with open_world(engine) as here, open_world(engine) as there:
        assert (await here.topup("warm-here", PREPAID, 500)).ok
        assert (await there.topup("warm-there", PREPAID, 500)).ok
        await _change_pin(here, "pin-change")
        for world in (here, there):
            refused = await world.topup(f"old-pin-{id(world)}", PREPAID, 500)
            assert refused.code == "wrong_pin", refused
            accepted = await world.topup(f"new-pin-{id(world)}", PREPAID, 500, NEW_PIN)
            assert accepted.ok, accepted


async def test_a_suspension_stops_the_next_sale_here_and_in_another_service(
    engine: AsyncEngine,
) -> None:
    async with open_world(engine) as here, open_world(engine) as there:
        assert (await here.topup("warm-here", PREPAID, 500)).ok
        assert (await there.topup("warm-there", PREPAID, 500)).ok
        await _suspend(engine)
        assert (await here.topup("after-here", PREPAID, 500)).code == "agent_inactive"
        assert (await there.topup("after-there", PREPAID, 500)).code == "agent_inactive"


async def test_a_lockout_after_wrong_pins_stops_the_next_sale_in_another_service(
    engine: AsyncEngine,
) -> None:
    async with open_world(engine) as here, open_world(engine) as there:
        assert (await there.topup("warm-there", PREPAID, 500)).ok
        codes = [(await here.topup(f"wrong-{n}", PREPAID, 500, "999999")).code for n in range(3)]
        assert codes == ["wrong_pin", "wrong_pin", "pin_locked"]
        assert (await here.topup("right-here", PREPAID, 500)).code == "pin_locked"
        assert (await there.topup("right-there", PREPAID, 500)).code == "pin_locked"
