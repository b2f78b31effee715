"""Subscriber transfers confirmed by a one-time code (SQLite and PostgreSQL, BOSS emulator):
the code's life (expiry, single use, wrong tries), the record before BOSS is asked, and the
resolver for unanswered ones."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.money import Msisdn
from ledger.operations import OperationOutcome, OperationRequest
from ledger.operations.resolver import SweepReport
from ledger.schema import confirmation_codes, operations
from simulator.boss import Msisdn as BossMsisdn
from tests.ledger.conftest import T0, Clock, Inbox, World, open_world

SENDER = Msisdn("8613900000001")  # ¥10.00
RECEIVER = "8613900000002"  # ¥10.00
POSTPAID = "8613700000001"  # ¥58.00 due


async def _ask(world: World, to: str, amount: int, key: str = "q") -> OperationOutcome:
    params: dict[str, str | int] = {"msisdn": to, "amount_fen": amount}
    return await world.operations.execute(
        OperationRequest("transfer_request", SENDER, params, key, "ussd")
    )


async def _confirm(world: World, code: str, key: str = "c") -> OperationOutcome:
    return await world.operations.execute(
        OperationRequest("transfer_confirm", SENDER, {"code": code}, key, "ussd")
    )


def _balance(world: World, msisdn: str) -> int:
    """A prepaid balance, or a postpaid bill due."""
    subscriber = world.boss_state.subscriber(BossMsisdn(msisdn))
    assert subscriber is not None
    return int(subscriber.balance_fen if subscriber.kind == "prepaid" else subscriber.bill_due_fen)


async def test_a_confirmed_transfer_moves_the_balance_once(engine: AsyncEngine) -> None:
    inbox = Inbox()
    async with open_world(engine, sms=inbox) as world:
        asked = await _ask(world, RECEIVER, 300)
        assert (asked.code, asked.values["msisdn"]) == ("ok", RECEIVER)
        assert (await _ask(world, RECEIVER, 300)).code == "ok"  # a replay sends no code
        [(to, code)] = inbox.codes
        assert to == SENDER
        async with world.engine.connect() as conn:
            stored = (await conn.execute(select(confirmation_codes.c.code_hash))).scalar_one()
        assert code not in stored
        done = await _confirm(world, code)
        assert (done.code, done.values["amount_fen"]) == ("ok", 300)
        assert (await _confirm(world, code)).code == "ok"  # the same request again
        assert (await _confirm(world, code, key="c2")).code == "code_expired"  # used
        assert (_balance(world, SENDER), _balance(world, RECEIVER)) == (700, 1_300)
        [(to, notice, values, _)] = inbox.notices  # told once, though confirmed twice
        assert (to, notice, values["sender"], values["amount_fen"]) == (
            RECEIVER,
            "transfer_credited",
            SENDER,
            300,
        )
        async with world.engine.connect() as conn:
            row = (await conn.execute(select(operations))).one()
        assert (row.kind, row.state, row.msisdn, row.counterparty) == (
            "transfer",
            "posted",
            RECEIVER,
            SENDER,
        )


async def test_wrong_codes_spend_the_code_and_expiry_ends_it(engine: AsyncEngine) -> None:
    clock = Clock(T0)
    inbox = Inbox()
    async with open_world(engine, clock=clock, sms=inbox) as world:
        await _ask(world, RECEIVER, 300)
        code = inbox.codes[-1][1]
        wrong = "000000" if code != "000000" else "111111"
        for n in range(3):
            assert (await _confirm(world, wrong, key=f"w{n}")).code == "wrong_code"
        assert (await _confirm(world, code)).code == "code_expired"
        await _ask(world, RECEIVER, 300, key="q2")
        clock.now = T0 + timedelta(seconds=301)
        assert (await _confirm(world, inbox.codes[-1][1], key="late")).code == "code_expired"
        assert _balance(world, SENDER) == 1_000


async def test_refusals_before_any_code(engine: AsyncEngine) -> None:
    inbox = Inbox()
    async with open_world(engine, sms=inbox) as world:
        assert (await _ask(world, SENDER, 300)).code == "same_subscriber"
        assert (await _ask(world, RECEIVER, 50)).code == "amount_below_min"
        assert (await _ask(world, "not a number", 300)).code == "bad_request"
        assert inbox.codes == []
    async with open_world(engine) as world:  # no SMS link: no code can reach anybody
        assert (await _ask(world, RECEIVER, 300, key="n")).code == "unavailable"


async def test_boss_refusals_and_bill_payments(engine: AsyncEngine) -> None:
    inbox = Inbox()
    async with open_world(engine, sms=inbox) as world:
        await _ask(world, RECEIVER, 5_000)
        assert (await _confirm(world, inbox.codes[-1][1])).code == "insufficient_balance"
        await _ask(world, POSTPAID, 800, key="q2")
        assert (await _confirm(world, inbox.codes[-1][1], key="c2")).code == "ok"
        assert _balance(world, POSTPAID) == 5_800 - 800
        assert _balance(world, SENDER) == 200


async def test_an_unanswered_transfer_is_settled_by_the_resolver(engine: AsyncEngine) -> None:
    inbox = Inbox()
    async with open_world(engine, sms=inbox) as world:
        await _ask(world, RECEIVER, 300)
        await world.set_faults(lost_response_rate=1.0)
        assert (await _confirm(world, inbox.codes[-1][1])).code == "pending"
        await world.set_faults()
        assert await world.operations.resolve_due() == SweepReport(posted=1)
        assert (await _confirm(world, inbox.codes[-1][1])).code == "ok"
        assert (_balance(world, SENDER), _balance(world, RECEIVER)) == (700, 1_300)
