"""The WAP service with a controlled clock, over a real database and the BOSS emulator:
sessions that time out, a browser that goes away mid-operation, and the source that signed-in
sessions' PINs are counted against."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.wap.identity import Caller
from channels.wap.service import SESSION_FIELD, WapScreen, WapService
from channels.wap.store import WapStore
from dialogs.catalogue import Catalogue
from dialogs.engine import Engine
from dialogs.events import Ask, End, Message
from dialogs.flow import load_flows
from ledger.money import Msisdn
from ledger.schema import pin_throttle
from tests.ledger.conftest import MERCHANT, World, open_world

TIMEOUT_MS = 300_000
GATEWAY = Caller("10.1.0.1", MERCHANT, "trusted")
STRANGER = Caller("192.0.2.7", None, "absent")


@dataclass
class Clock:
    now_ms: int = 1_790_000_000_000

    def __call__(self) -> int:
        return self.now_ms


class Receipts:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send_message(self, msisdn: Msisdn, message: Message) -> None:
        self.sent.append((msisdn, message.key))


@dataclass
class Rig:
    service: WapService
    clock: Clock
    world: World
    receipts: Receipts

    async def send(self, caller: Caller, screen: WapScreen, value: str) -> WapScreen:
        assert screen.form is not None
        session = screen.form.fields[SESSION_FIELD]
        return await self.service.answer(caller, session, screen.form.token, value)

    async def walk(self, caller: Caller, screen: WapScreen, *values: str) -> WapScreen:
        for value in values:
            screen = await self.send(caller, screen, value)
        return screen


def _key(screen: WapScreen) -> str:
    event = screen.event
    return event.prompt.key if isinstance(event, Ask) else event.message.key


@pytest.fixture
async def rig(engine: AsyncEngine) -> AsyncIterator[Rig]:
    clock, receipts = Clock(), Receipts()
    async with open_world(engine) as world:
        service = WapService(
            engine=Engine(load_flows()),
            catalogue=Catalogue.load(),
            operations=world.operations,
            store=WapStore(world.engine),
            session_timeout_ms=TIMEOUT_MS,
            default_language="zh-CN",
            clock_ms=clock,
            notifier=receipts,
        )
        yield Rig(service, clock, world, receipts)


async def test_a_page_answered_after_the_timeout_is_not_taken(rig: Rig) -> None:
    menu = await rig.service.start(GATEWAY)
    rig.clock.now_ms += TIMEOUT_MS - 1  # just in time
    ask = await rig.send(GATEWAY, menu, "4")
    assert _key(ask) == "common.ask_pin"
    rig.clock.now_ms += TIMEOUT_MS + 1
    late = await rig.send(GATEWAY, ask, "333333")
    assert (late.status, _key(late), late.form) == (403, "wap.session_expired", None)
    assert late.link is not None
    assert rig.service.counters.snapshot()["session_expired"] == 1
    assert rig.service.counters.snapshot()["operation"] == 0


async def test_a_browser_gone_mid_operation_leaves_it_to_finish(rig: Rig) -> None:
    confirm = await rig.walk(
        GATEWAY, await rig.service.start(GATEWAY), "1", "13900000001", "50", "333333"
    )
    await rig.world.set_faults(latency_ms=300)  # BOSS answers slowly
    request = asyncio.create_task(rig.send(GATEWAY, confirm, "1"))
    async with asyncio.timeout(5):
        while not rig.service.operations_in_flight:  # noqa: ASYNC110 - polled state
            await asyncio.sleep(0.01)
    request.cancel()  # the browser went away
    with pytest.raises(asyncio.CancelledError):
        await request
    assert rig.world.boss_balance("8613900000001") == 1000  # not yet
    await rig.service.drain()  # what shutdown does before the ledger stops
    assert rig.service.operations_in_flight == 0
    assert rig.world.boss_balance("8613900000001") == 6000
    assert rig.receipts.sent == [("8613800000003", "topup.receipt")]
    # the form was spent: answering it again runs nothing
    again = await rig.send(GATEWAY, confirm, "1")
    assert (again.status, _key(again)) == (403, "wap.form_refused")
    assert rig.world.boss_balance("8613900000001") == 6000


async def test_signed_in_sessions_count_wrong_pins_against_their_address(rig: Rig) -> None:
    signin = await rig.service.start(STRANGER)
    assert _key(signin) == "wap.ask_number"
    again = await rig.send(STRANGER, signin, "12")
    assert isinstance(again.event, Ask)
    assert again.event.notice == Message("input.invalid.msisdn")
    ask_pin = await rig.send(STRANGER, again, "13800000003")
    assert _key(ask_pin) == "wap.ask_pin"
    menu = await rig.send(STRANGER, ask_pin, "333333")
    assert _key(menu) == "agent.menu"
    # the balance flow's own PIN prompt, answered wrongly: counted against this address
    wrong = await rig.walk(STRANGER, menu, "4", "999999")
    assert isinstance(wrong.event, End)
    assert wrong.event.message.key == "outcome.wrong_pin"
    async with rig.world.engine.connect() as conn:
        sources = (await conn.execute(select(pin_throttle.c.source))).scalars().all()
    assert sources == ["wap:wap@192.0.2.7"]


async def test_a_subscribers_number_typed_without_a_gateway_is_refused(rig: Rig) -> None:
    """Subscribers have no PIN: only the operator's gateway can say who they are."""
    signin = await rig.service.start(STRANGER)
    refused = await rig.send(STRANGER, signin, "13900000001")
    assert isinstance(refused.event, End)
    assert refused.event.message.key == "wap.subscriber_needs_gateway"
    assert refused.form is None
    counts = rig.service.counters.snapshot()
    assert (counts["signin_subscriber_refused"], counts["signin_ok"]) == (1, 0)


async def test_three_bad_numbers_end_the_sign_in(rig: Rig) -> None:
    screen = await rig.service.start(STRANGER)
    screen = await rig.walk(STRANGER, screen, "x", "y")
    assert screen.form is not None
    end = await rig.send(STRANGER, screen, "z")
    assert (_key(end), end.form) == ("common.too_many_attempts", None)
