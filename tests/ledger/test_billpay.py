"""Bill payment by an agent (SQLite and PostgreSQL, BOSS emulator over HTTP): the same
protocol as a top-up, against a postpaid bill; more than due is credited ahead."""

from __future__ import annotations

from ledger.operations import OperationOutcome, OperationRequest
from ledger.operations.resolver import SweepReport
from simulator.boss import Msisdn as BossMsisdn
from tests.ledger.conftest import MERCHANT, World

POSTPAID = "8613700000001"  # ¥58.00 due
PREPAID = "8613900000001"


async def _pay(world: World, key: str, msisdn: str, amount: int) -> OperationOutcome:
    params: dict[str, str | int] = {"msisdn": msisdn, "amount_fen": amount, "pin": "333333"}
    return await world.operations.execute(OperationRequest("billpay", MERCHANT, params, key, "sms"))


def _due(world: World, msisdn: str = POSTPAID) -> int:
    subscriber = world.boss_state.subscriber(BossMsisdn(msisdn))
    assert subscriber is not None
    return int(subscriber.bill_due_fen)


async def test_a_bill_is_paid_once_and_the_seller_earns_its_commission(world: World) -> None:
    outcome = await _pay(world, "b1", POSTPAID, 3_000)
    assert (outcome.code, outcome.values["balance_fen"]) == ("ok", 47_000)
    assert (await _pay(world, "b1", POSTPAID, 3_000)).code == "ok"  # a replay
    assert _due(world) == 5_800 - 3_000
    assert (await world.deposit()).balance == 47_000


async def test_more_than_due_is_credited_ahead(world: World) -> None:
    assert (await _pay(world, "b1", POSTPAID, 10_000)).code == "ok"
    assert _due(world) == 5_800 - 10_000


async def test_a_prepaid_number_has_no_bill_and_nothing_is_charged(world: World) -> None:
    outcome = await _pay(world, "b1", PREPAID, 1_000)
    assert outcome.code == "not_postpaid"
    deposit = await world.deposit()
    assert (deposit.balance, deposit.available) == (50_000, 50_000)


async def test_an_unanswered_payment_is_settled_by_the_resolver(world: World) -> None:
    await world.set_faults(lost_response_rate=1.0)
    assert (await _pay(world, "b1", POSTPAID, 2_000)).code == "pending"
    await world.set_faults()
    assert await world.operations.resolve_due() == SweepReport(posted=1)
    assert _due(world) == 5_800 - 2_000
    assert (await world.deposit()).balance == 48_000
