"""The USSD service with a controlled clock, over a real database and the BOSS emulator:
session expiry, shortcuts, gateways that send only the latest input, and PIN handling."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.schema import ussd_sessions
from channels.ussd.protocol import UssdRequest
from channels.ussd.service import UssdService
from channels.ussd.store import UssdSessionStore
from dialogs.catalogue import Catalogue
from dialogs.engine import Engine
from dialogs.flow import load_flows
from tests.ledger.conftest import World, open_world

TIMEOUT_MS = 180_000


@dataclass
class Clock:
    now_ms: int = 1_000_000

    def __call__(self) -> int:
        return self.now_ms


@dataclass
class Rig:
    service: UssdService
    clock: Clock
    world: World

    async def send(self, session: str, text: str, phone: str = "+8613800000003") -> str:
        page = await self.service.handle(UssdRequest(session, "*123#", phone, "46000", text))
        return ("END " if page.end else "CON ") + page.text


@pytest.fixture
async def rig(engine: AsyncEngine) -> AsyncIterator[Rig]:
    clock = Clock()
    async with open_world(engine) as world:
        service = UssdService(
            engine=Engine(load_flows()),
            catalogue=Catalogue.load(),
            operations=world.operations,
            store=UssdSessionStore(engine),
            service_code="*123#",
            session_timeout_ms=TIMEOUT_MS,
            default_language="zh-CN",
            digest_key=b"test",
            clock_ms=clock,
        )
        yield Rig(service, clock, world)


async def test_a_silent_session_expires(rig: Rig) -> None:
    await rig.send("s", "")
    rig.clock.now_ms += TIMEOUT_MS  # exactly at the limit: still alive
    assert await rig.send("s", "1") == "CON 请输入充值号码"
    rig.clock.now_ms += TIMEOUT_MS + 1
    assert await rig.send("s", "1*13900000001") == "END 会话已超时，请重新拨打。"
    assert await rig.send("s", "1*13900000001*50") == "END 会话已超时，请重新拨打。"


async def test_a_shortcut_dial_feeds_every_input_at_once(rig: Rig) -> None:
    assert await rig.send("s", "1*13900000001*50") == "CON 请输入6位密码"


async def test_a_gateway_sending_only_the_latest_input(rig: Rig) -> None:
    await rig.send("s", "")
    for text in ("1", "13900000001", "50", "333333"):
        reply = await rig.send("s", text)
    assert reply.startswith("CON 为13900000001充值50.00元")
    assert (await rig.send("s", "1")).startswith("END 充值成功")
    assert rig.world.boss_balance("8613900000001") == 6000


async def test_the_stored_session_never_holds_the_pin(rig: Rig, engine: AsyncEngine) -> None:
    await rig.send("s", "1*13900000001*50*333333")
    async with engine.connect() as conn:
        stored = (await conn.execute(select(ussd_sessions.c.state))).scalar_one()
    slots = json.loads(stored)["slots"]
    assert slots["pin"].startswith("pinproof:v1:")
    assert "333333" not in stored
    # and the proof still authorises the top-up on the next request
    assert (await rig.send("s", "1*13900000001*50*333333*1")).startswith("END 充值成功")
