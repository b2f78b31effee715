"""The session store's cache and group commit, against SQLite and PostgreSQL: several
platform processes (here: several UssdService instances, each with its own store and cache)
on one database, a retry racing its original, and a process dropped between requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.ussd.agents import AgentMenus
from channels.ussd.protocol import UssdRequest
from channels.ussd.service import UssdService
from channels.ussd.store import UssdSessionStore, next_version
from channels.ussd.turn import UssdTurn
from dialogs.catalogue import Catalogue
from dialogs.engine import Engine
from dialogs.flow import load_flows
from ledger.money import Msisdn
from tests.channels.test_ussd_service import TIMEOUT_MS, Clock
from tests.ledger.conftest import World, open_world

PHONE = "+8613800000003"
TOP_UP = ("1", "13900000001", "50", "333333", "1")


@dataclass
class Farm:
    """Services that share one database and one clock, as platform processes would."""

    world: World
    clock: Clock
    services: list[UssdService]
    stores: list[UssdSessionStore]

    def open(self) -> UssdService:
        store = UssdSessionStore(self.world.engine)
        service = UssdService(
            engine=Engine(load_flows()),
            catalogue=Catalogue.load(),
            operations=self.world.operations,
            store=store,
            service_code="*123#",
            session_timeout_ms=TIMEOUT_MS,
            default_language="zh-CN",
            digest_key=b"test",
            clock_ms=self.clock,
        )
        self.services.append(service)
        self.stores.append(store)
        return service


@pytest.fixture
async def farm(engine: AsyncEngine) -> AsyncIterator[Farm]:
    async with open_world(engine) as world:
        farm = Farm(world, Clock(), [], [])
        try:
            yield farm
        finally:
            for store in farm.stores:
                await store.close()


async def _send(service: UssdService, text: str, session: str = "s") -> str:
    page = await service.handle(UssdRequest(session, "*123#", PHONE, "46000", text))
    return ("END " if page.end else "CON ") + page.text


async def _latest(service: UssdService, op: str, value: str = "", key: str = "") -> str:
    inputs = (value,) if op == "continue" else ()
    turn = UssdTurn("j", PHONE, "*123#", op, inputs, retry_key=key or None)  # type: ignore[arg-type]
    page = await service.handle_turn(turn)
    return ("END " if page.end else "CON ") + page.text


async def test_two_processes_alternating_one_cumulative_session_top_up_once(farm: Farm) -> None:
    a, b = farm.open(), farm.open()
    texts = ["*".join(TOP_UP[:n]) for n in range(len(TOP_UP) + 1)]
    replies = []
    for n, text in enumerate(texts):
        farm.clock.now_ms += 1_000
        replies.append(await _send(a if n % 2 == 0 else b, text))
    assert replies[1] == "CON 请输入充值号码"
    assert replies[-1].startswith("END 充值成功")
    assert farm.world.boss_balance("8613900000001") == 6000


async def test_two_processes_alternating_latest_input_turns_never_feed_a_stale_state(
    farm: Farm,
) -> None:
    """Only-the-latest-input turns are where a stale cached state would do harm: each
    process's cache is behind by the other's turn, every time."""
    a, b = farm.open(), farm.open()
    first = await _latest(a, "begin", key="0")
    assert await _latest(a, "begin", key="0") == first  # a retry of the dial
    for round_ in range(2):  # a's cache and b's cache are each stale in turn
        session_pages = []
        for n, value in enumerate(TOP_UP):
            service = b if n % 2 == 0 else a
            session_pages.append(await _latest(service, "continue", value, key=f"{round_}{n}"))
        assert session_pages[0] == "CON 请输入充值号码", session_pages
        assert session_pages[-1].startswith("END 充值成功"), session_pages
        farm.clock.now_ms += 1_000  # a new dial's operations are keyed by its start second
        await _latest(a if round_ == 0 else b, "begin", key=f"b{round_}")
    assert farm.world.boss_balance("8613900000001") == 1000 + 2 * 5000


async def test_a_retry_racing_its_original_tops_up_once_and_answers_the_same(farm: Farm) -> None:
    a, b = farm.open(), farm.open()
    await _send(a, "")
    await _send(a, "*".join(TOP_UP[:4]))
    confirm = "*".join(TOP_UP)
    # the original and the gateway's retry at once: in one process, and across two
    same_process = await asyncio.gather(_send(a, confirm), _send(a, confirm))
    assert same_process[0] == same_process[1]
    assert same_process[0].startswith("END 充值成功")
    await _send(a, "", session="t")
    await _send(b, "*".join(TOP_UP[:4]), session="t")
    across = await asyncio.gather(
        _send(a, confirm, "t"), _send(b, confirm, "t"), return_exceptions=True
    )
    # One of the two runs the top-up; the other, in another process, either answers the
    # stored page (it lost the save and reran as a retry), meets the operation still in
    # flight (pending), or gets the ledger's replay of it. One top-up, never two.
    answered = [reply for reply in across if isinstance(reply, str)]
    assert answered
    assert all(reply.startswith(("END 充值成功", "END 交易处理中")) for reply in answered), across
    assert farm.world.boss_balance("8613900000001") == 1000 + 2 * 5000


async def test_a_process_dropped_between_requests_loses_nothing(farm: Farm) -> None:
    a = farm.open()
    for n in range(4):
        await _send(a, "*".join(TOP_UP[:n]))
    pin_page = await _send(a, "*".join(TOP_UP[:4]))
    farm.services.remove(a)  # the process dies: its cache with it (its store is closed later)
    b = farm.open()
    # the gateway never got the last page and retries it at another process
    assert await _send(b, "*".join(TOP_UP[:4])) == pin_page
    assert (await _send(b, "*".join(TOP_UP))).startswith("END 充值成功")
    assert farm.world.boss_balance("8613900000001") == 6000


class _Crash(Exception):
    pass


async def test_a_crash_before_the_save_commits_never_tops_up_twice(farm: Farm) -> None:
    """The top-up ran but the process died before the page's state was committed: the page
    was never answered, the gateway retries elsewhere, the turn runs again on the earlier
    state with the same idempotency key, and the ledger answers the first result."""
    a = farm.open()
    await _send(a, "")
    await _send(a, "*".join(TOP_UP[:4]))
    backend = await a._store._open()

    async def crash(batch: object) -> list[bool]:
        raise _Crash

    backend.write = crash  # type: ignore[method-assign]
    with pytest.raises(_Crash):
        await _send(a, "*".join(TOP_UP))
    assert farm.world.boss_balance("8613900000001") == 6000  # the top-up itself went through
    b = farm.open()
    # the ledger's replay, with the balance the receipt shows
    assert (await _send(b, "*".join(TOP_UP))).startswith("END 充值成功")
    assert farm.world.boss_balance("8613900000001") == 6000  # and only once


async def test_saves_of_many_sessions_share_commits(farm: Farm) -> None:
    a = farm.open()
    store = farm.stores[-1]
    pages = await asyncio.gather(*(_send(a, "", session=f"g{n}") for n in range(40)))
    assert all(page.startswith("CON ") for page in pages)
    assert store.saves == 40
    assert store.groups < 40  # grouped: fewer transactions than saves
    # a stale write is refused, never applied over the newer row
    session = store.cached("g0")
    assert session is not None
    newer = next_version(session.updated_ms, session.updated_ms)
    assert not await store.save(session, "*123#", seen=session.updated_ms - 1)
    assert store.cached("g0") is None
    assert (await store.load("g0")) == session
    assert newer > session.updated_ms


async def test_the_menu_choice_is_remembered_for_a_while_only() -> None:
    asked: list[str] = []
    now = [0]

    @dataclass
    class Found:
        language: str

    async def find(msisdn: Msisdn) -> Found | None:
        asked.append(msisdn)
        return Found("en") if msisdn == "86138" else None

    menus = AgentMenus(find, lambda: now[0], ttl_ms=1_000)
    assert (await menus.menu(Msisdn("86138"))).agent
    assert not (await menus.menu(Msisdn("86139"))).agent
    now[0] = 999
    assert (await menus.menu(Msisdn("86138"))).language == "en"
    assert asked == ["86138", "86139"]
    now[0] = 1_000
    await menus.menu(Msisdn("86138"))
    assert asked == ["86138", "86139", "86138"]
