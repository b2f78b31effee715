"""The simulator's phones with their service SIMs over the demo world: the merchant's SIM
(its profile as `aircharge demo` writes it, the program the composition root compiles) tops
up from the menu; its sealed SMS leaves as the phone's own MO through the SMSC emulator, the
platform's receipt lands in the phone's SMS conversation, the ledger and BOSS move once. The
top-up's sealed SMS injected again at the SMSC, after a second answer from the SIM, is
refused as an old counter: the books unchanged, no answer (the same text again is a
re-delivery to the SMS channel).

(tests/channels/stk/test_demo_e2e.py drives a bare card and handset; this goes through the
world's `SimStore`, `Phone.stk` and the phone's SMS path, as the terminal UI and the script
runner do.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from aircharge.demo import DemoStack
from ledger.verify import verify
from simulator.boss import Msisdn as BossMsisdn
from simulator.phones import Phone, Phones
from simulator.stk import HandsetError, InputScreen, ListScreen, MenuScreen
from simulator.world import World
from tests.channels.stk.rig import books
from tests.simulator.tui.test_app import frozen
from tests.test_demo_sms_e2e import settled

MERCHANT = "13800000003"
PREPAID = "13900000001"
WAIT_S = 5.0


async def until(condition: Callable[[], object], what: str) -> None:
    async with asyncio.timeout(WAIT_S):
        while not condition():  # noqa: ASYNC110 -- the phones change in the event loop
            await asyncio.sleep(0.01)
    assert condition(), what


def balance(demo: DemoStack, msisdn: str) -> int:
    subscriber = demo.boss_state.subscriber(BossMsisdn("86" + msisdn))
    assert subscriber is not None
    return int(subscriber.balance_fen)


def replies(phone: Phone) -> list[str]:
    return [message.text for message in phone.messages if not message.outgoing]


async def test_a_topup_from_the_phones_sim_menu_then_its_sms_replayed(
    demo: DemoStack, world: World
) -> None:
    phones = Phones(world, frozen)
    try:
        phone = phones.add(MERCHANT)
        stk = phone.stk
        assert stk.has_sim
        menu = await stk.open()
        assert isinstance(menu, MenuScreen)
        assert stk.lines()[:2] == ["代理商服务", "1 话费充值"]
        await stk.select("话费充值")  # by its label
        await stk.enter(PREPAID)
        await stk.enter("50")
        assert stk.hidden_entry
        refused = await stk.enter("12345")  # the handset refuses it; the card never sees it
        assert isinstance(refused, InputScreen)
        assert stk.lines() == ["请输入6位密码", "(6 digits, hidden)", "✗ 请至少输入6位"]
        confirm = await stk.enter("333333")
        assert isinstance(confirm, ListScreen)
        assert stk.lines()[0] == f"为{PREPAID}充值50元，确认吗？"
        assert isinstance(await stk.select(1), MenuScreen)  # sent; back on the menu
        sent = stk.last_sent
        assert sent is not None
        assert sent.outgoing
        assert sent.peer == "1888"
        assert sent.text.startswith("STK1 ")
        assert "333333" not in sent.text
        assert phone.messages[0] is sent  # in the phone's SMS conversation
        await until(lambda: sent.state == "delivered", "the platform acknowledged the MO")
        await until(lambda: replies(phone), "the receipt")
        assert replies(phone)[0].startswith(f"充值成功：{PREPAID}到账50.00元")
        assert balance(demo, PREPAID) == 6_000
        profile = json.loads((demo.data_dir / "sims" / f"86{MERCHANT}.json").read_text())
        assert profile["counter"] == 1  # written back before the SMS left
        await stk.select("余额查询")  # a second answer from the SIM: counter 2
        await stk.enter("333333")
        await until(lambda: len(replies(phone)) == 2, "the balance")
        assert "余额450.00元" in replies(phone)[1]
        await settled(demo)
        before = await books(demo.platform.engine)

        # The top-up's sealed text again, as if captured on the air and injected at the SMSC:
        # its counter is old and it is the same SMS again: nothing moves, nothing answers.
        inbox = demo.smsc.handset(MERCHANT)
        received = inbox.received_total
        await demo.smsc.send_sms(MERCHANT, sent.text, "1888").delivered
        await settled(demo)
        assert demo.platform.sms is not None
        counts = demo.platform.sms.stk_counters.snapshot()
        assert (counts["answers_opened"], counts["refused_old_counter"]) == (2, 1)
        assert await books(demo.platform.engine) == before
        assert inbox.received_total == received
        assert len(replies(phone)) == 2
        assert balance(demo, PREPAID) == 6_000
        assert (await verify(demo.platform.engine)).ok
    finally:
        await phones.close()


async def test_back_cancel_and_a_phone_without_a_sim(world: World) -> None:
    phones = Phones(world, frozen)
    try:
        stk = phones.add(MERCHANT).stk
        await stk.select(1)
        await stk.enter(PREPAID)
        assert (await stk.back()).text == "请输入充值号码"  # type: ignore[union-attr]
        await stk.enter(PREPAID)
        assert isinstance(await stk.cancel(), MenuScreen)
        await stk.select(1)
        assert isinstance(await stk.open(), MenuScreen)  # opening the menu ends the session
        with pytest.raises(HandsetError, match="no item has 'transfer' on the SIM's menu"):
            await stk.select("transfer")
        with pytest.raises(HandsetError, match="no input on the SIM's menu"):
            await stk.enter("1")
        assert stk.last_sent is None
        assert phones[MERCHANT].messages == []

        subscriber = phones.add(PREPAID).stk
        assert not subscriber.has_sim
        assert subscriber.screen is None
        [line] = subscriber.lines()
        assert line.startswith(f"No service SIM in this phone (no profile for 86{PREPAID} in")
        with pytest.raises(HandsetError, match="No service SIM"):
            await subscriber.open()
    finally:
        await phones.close()
