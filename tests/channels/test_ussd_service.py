"""The USSD service with a controlled clock, over a real database and the BOSS emulator:
session expiry, shortcuts, gateways that send only the latest input, and PIN handling."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.receipts import FlowNotifier
from channels.schema import ussd_sessions
from channels.ussd.protocol import UssdRequest
from channels.ussd.service import UssdService
from channels.ussd.store import UssdSessionStore
from channels.ussd.turn import UssdTurn, parse_dialled
from dialogs.catalogue import MESSAGES_DIR, Catalogue
from dialogs.engine import Engine
from dialogs.events import Message
from dialogs.flow import load_flows, parse_flow
from ledger.money import Msisdn
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
    store: UssdSessionStore

    async def send(self, session: str, text: str, phone: str = "+8613800000003") -> str:
        page = await self.service.handle(UssdRequest(session, "*123#", phone, "46000", text))
        return ("END " if page.end else "CON ") + page.text


def _service(
    world: World,
    clock: Clock,
    dialog_engine: Engine,
    catalogue: Catalogue,
    store: UssdSessionStore,
    notifier: FlowNotifier | None = None,
) -> UssdService:
    return UssdService(
        engine=dialog_engine,
        catalogue=catalogue,
        operations=world.operations,
        store=store,
        service_code="*123#",
        session_timeout_ms=TIMEOUT_MS,
        default_language="zh-CN",
        digest_key=b"test",
        clock_ms=clock,
        notifier=notifier,
    )


@pytest.fixture
async def rig(engine: AsyncEngine) -> AsyncIterator[Rig]:
    clock = Clock()
    async with open_world(engine) as world:
        store = UssdSessionStore(world.engine)
        try:
            service = _service(world, clock, Engine(load_flows()), Catalogue.load(), store)
            yield Rig(service, clock, world, store)
        finally:
            await store.close()


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
    assert slots["pin"].startswith("pinseal:v2:")
    assert "333333" not in stored
    # and the proof still authorises the top-up on the next request
    assert (await rig.send("s", "1*13900000001*50*333333*1")).startswith("END 充值成功")


LONG_MENU = {
    "id": "agent_main",
    "start": "menu",
    "nodes": {
        "menu": {
            "type": "menu",
            "prompt": "agent.menu",
            "options": [{"label": f"long.{i}", "next": "bye"} for i in range(9)],
        },
        "bye": {"type": "end", "message": "common.cancelled"},
    },
}


async def test_a_long_menu_pages_with_98_and_0(rig: Rig) -> None:
    texts = {
        language: {
            **yaml.safe_load((MESSAGES_DIR / f"{language}.yaml").read_text(encoding="utf-8")),
            **{f"long.{i}": f"很长的菜单选项第{i}项" for i in range(9)},
        }
        for language in ("zh-CN", "en")
    }
    long_engine = Engine({"agent_main": parse_flow(LONG_MENU, "long.yaml")})
    service = Rig(
        _service(rig.world, rig.clock, long_engine, Catalogue(texts), rig.store),
        rig.clock,
        rig.world,
        rig.store,
    )
    first = await service.send("p", "")
    assert first.endswith("98. 更多")
    assert "1. 很长的菜单选项第0项" in first
    second = await service.send("p", "98")
    assert "0. 返回" in second.split("\n")
    assert "1. 很长的菜单选项第0项" not in second
    back = await service.send("p", "98*0")
    assert back == first
    # a number still picks its option, whatever page is on screen
    assert await service.send("p", "98*0*9") == "END 已取消，欢迎再次使用。"


async def test_a_gateways_long_session_id_still_tops_up_once(rig: Rig) -> None:
    session = "ATUid_" + "x" * 122  # the longest the protocol allows
    assert (await rig.send(session, "1*13900000001*50*333333*1")).startswith("END 充值成功")
    assert rig.world.boss_balance("8613900000001") == 6000


async def test_old_sessions_are_purged_and_recent_ones_kept(rig: Rig, engine: AsyncEngine) -> None:
    await rig.send("old", "")
    rig.clock.now_ms += 10_000
    await rig.send("new", "")
    store = UssdSessionStore(engine)
    try:
        assert await store.purge(older_than_ms=rig.clock.now_ms - 5_000) == 1
        assert await store.load("old") is None
        assert await store.load("new") is not None
    finally:
        await store.close()
    assert rig.store.cached("new") is not None  # the cache holds what the service wrote
    assert await rig.store.purge(older_than_ms=rig.clock.now_ms + 1) == 1
    assert rig.store.cached("new") is None


# --- neutral turns, as SMPP and the JSON profile bring them -----------------------------------


async def _turn(rig: Rig, op: str, *inputs: str, session: str = "t", key: str | None = None):
    turn = UssdTurn(session, "+8613800000003", "*123#", op, inputs, retry_key=key)  # type: ignore[arg-type]
    page = await rig.service.handle_turn(turn)
    return ("END " if page.end else "CON ") + page.text


async def test_turns_carrying_only_the_latest_input_top_up_once(rig: Rig) -> None:
    service_code, shortcuts = parse_dialled("*123*1#")
    assert (service_code, shortcuts) == ("*123#", ("1",))
    assert await _turn(rig, "begin", *shortcuts) == "CON 请输入充值号码"
    for value in ("13900000001", "50", "333333"):
        reply = await _turn(rig, "continue", value)
    assert reply.startswith("CON 为13900000001充值50.00元")
    assert (await _turn(rig, "continue", "1")).startswith("END 充值成功")
    assert rig.world.boss_balance("8613900000001") == 6000


async def test_a_begin_with_shortcut_inputs_feeds_them_all(rig: Rig) -> None:
    _, shortcuts = parse_dialled("*123*1*13900000001#")
    assert await _turn(rig, "begin", *shortcuts) == "CON 请输入充值金额（元）"


async def test_an_abort_closes_the_session(rig: Rig, engine: AsyncEngine) -> None:
    await _turn(rig, "begin")
    await _turn(rig, "continue", "1")
    assert await _turn(rig, "abort") == "END "
    async with engine.connect() as conn:
        ended = (await conn.execute(select(ussd_sessions.c.ended))).scalar_one()
    assert ended is True
    assert await _turn(rig, "continue", "13900000001") == "END 会话已超时，请重新拨打。"
    assert await _turn(rig, "abort", session="never-opened") == "END "


async def test_a_retry_identity_answers_the_stored_page(rig: Rig) -> None:
    await _turn(rig, "begin", key="1")
    first = await _turn(rig, "continue", "1", key="2")
    assert await _turn(rig, "continue", "1", key="2") == first  # the retry
    # the same input again under a new identity is new input (here: an invalid number)
    assert (await _turn(rig, "continue", "1", key="3")).startswith("CON 号码无效")


async def test_a_session_id_dialled_again_is_a_new_dial_with_its_own_keys(rig: Rig) -> None:
    """SMPP without its_session_info keys sessions by number: the same id comes back."""
    for round_ in range(2):
        _, shortcuts = parse_dialled("*123*1*13900000001*50*333333#")
        assert (await _turn(rig, "begin", *shortcuts, key=f"b{round_}")).startswith("CON 为")
        assert (await _turn(rig, "continue", "1", key=f"c{round_}")).startswith("END 充值成功")
        rig.clock.now_ms += 1000  # the second dial starts a second later
    assert rig.world.boss_balance("8613900000001") == 1000 + 2 * 5000


class Receipts:
    """The actor's receipts the channel queues by SMS."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send_message(self, msisdn: Msisdn, message: Message) -> None:
        self.sent.append((msisdn, message.key))


async def test_a_gateway_that_hangs_up_mid_operation_leaves_it_to_finish(
    engine: AsyncEngine,
) -> None:
    receipts = Receipts()
    async with open_world(engine) as world:
        store = UssdSessionStore(world.engine)
        try:
            service = _service(
                world, Clock(), Engine(load_flows()), Catalogue.load(), store, receipts
            )
            rig = Rig(service, Clock(), world, store)
            assert (await rig.send("s", "1*13900000001*50*333333")).startswith("CON 为")
            await world.set_faults(latency_ms=300)  # BOSS answers slowly
            request = asyncio.create_task(rig.send("s", "1*13900000001*50*333333*1"))
            async with asyncio.timeout(5):
                while not service.operations_in_flight:  # noqa: ASYNC110 - polled state
                    await asyncio.sleep(0.01)
            request.cancel()  # the gateway gave up waiting
            with pytest.raises(asyncio.CancelledError):
                await request
            assert world.boss_balance("8613900000001") == 1000  # not yet
            await service.drain()  # what shutdown does before the ledger stops
            assert service.operations_in_flight == 0
            assert world.boss_balance("8613900000001") == 6000
            assert receipts.sent == [("8613800000003", "topup.receipt")]
        finally:
            await store.close()
