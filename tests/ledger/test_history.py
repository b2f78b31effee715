"""An agent's last transactions (SQLite and PostgreSQL): newest first, at most five, its own
sales and allotments out and what it received, behind its PIN."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.money import Msisdn
from ledger.operations import OperationOutcome, OperationRequest
from tests.ledger.conftest import MERCHANT, Inbox, World, open_world

LEVEL2 = Msisdn("8613800000002")


async def _history(world: World, actor: Msisdn, pin: str, key: str = "h") -> OperationOutcome:
    request = OperationRequest("history", actor, {"pin": pin}, key, "sms")
    return await world.operations.execute(request)


async def test_the_last_five_newest_first_with_what_was_received(engine: AsyncEngine) -> None:
    async with open_world(engine, sms=Inbox()) as world:
        await _last_five(world)


async def _last_five(world: World) -> None:
    allot: dict[str, str | int] = {"msisdn": MERCHANT, "amount_fen": 10_000, "pin": "222222"}
    assert (await world.operations.execute(OperationRequest("allot", LEVEL2, allot, "a", "sms"))).ok
    for n, (number, amount) in enumerate(
        [("8613900000001", 1_000), ("8613700000001", 2_000), ("8613900000002", 3_000)]
    ):
        await world.topup(f"t{n}", number, amount)
    outcome = await _history(world, MERCHANT, "333333")
    assert outcome.code == "ok"
    assert outcome.values == {"count": 4, "balance_fen": 50_000 + 10_000 - 1_000 - 3_000}
    assert [(i["kind"], i["msisdn"], i["amount_fen"], i["state"]) for i in outcome.items] == [
        ("topup", "8613900000002", 3_000, "posted"),
        ("topup", "8613700000001", 2_000, "failed"),  # not prepaid: voided
        ("topup", "8613900000001", 1_000, "posted"),
        ("allot_in", MERCHANT, 10_000, "posted"),
    ]
    upline = await _history(world, LEVEL2, "222222", key="h2")
    assert [(i["kind"], i["amount_fen"]) for i in upline.items] == [("allot", 10_000)]
    for n in range(4):
        await world.topup(f"more{n}", "8613900000003", 100)
    assert len((await _history(world, MERCHANT, "333333", key="h3")).items) == 5


async def test_a_wrong_pin_shows_nothing(engine: AsyncEngine) -> None:
    async with open_world(engine, sms=Inbox()) as world:
        refused = await _history(world, MERCHANT, "999999")
        assert (refused.code, refused.items) == ("wrong_pin", ())


async def test_without_an_sms_link_nothing_is_promised(world: World) -> None:
    assert (await _history(world, MERCHANT, "333333")).code == "unavailable"
