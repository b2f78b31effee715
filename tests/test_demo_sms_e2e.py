"""End to end through the emulators over SMPP: a handset's SMS reaches the SMSC emulator, the
platform's ESME, the SMS channel, the ledger and the BOSS emulator, and the replies come back
as MT into the handsets' inboxes; USSD over SMPP walks the same menus as the HTTP gateways.
Money is checked at BOSS after every step."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

from sqlalchemy import func, select

from aircharge.demo import DemoStack
from channels.schema import sms_mo
from ledger.verify import verify
from simulator.boss import Msisdn as BossMsisdn
from simulator.smsc import Faults, Handset, InboxMessage, MoRedelivered
from simulator.ussd_gateway import SmppUssdGateway

MERCHANT = "13800000003"
PREPAID = "13900000001"
UCS2 = 0x08


def balance(demo: DemoStack, msisdn: str) -> int:
    subscriber = demo.boss_state.subscriber(BossMsisdn("86" + msisdn))
    assert subscriber is not None
    return int(subscriber.balance_fen)


async def received(handset: Handset, count: int, wait_s: float = 5.0) -> list[InboxMessage]:
    """The handset's inbox once it holds `count` messages (failing after `wait_s`)."""
    async with asyncio.timeout(wait_s):
        while handset.received_total < count:  # noqa: ASYNC110 -- the emulator's inbox
            await asyncio.sleep(0.01)
    return list(handset.inbox)


async def settled(demo: DemoStack) -> None:
    """Every MO accepted so far processed and its replies handed to the SMSC."""
    assert demo.platform.sms is not None
    assert demo.platform.sms.service is not None
    await demo.platform.sms.service.idle()


async def test_a_topup_by_sms_tells_both_parties_in_chinese(demo: DemoStack) -> None:
    merchant, subscriber = demo.smsc.handset(MERCHANT), demo.smsc.handset(PREPAID)
    await demo.smsc.send_sms(MERCHANT, f"CZ {PREPAID} 50 333333").delivered
    [reply] = await received(merchant, 1)
    [notice] = await received(subscriber, 1)
    assert reply.text.startswith(f"充值成功：{PREPAID}到账50.00元")
    assert "余额450.00元" in reply.text
    assert notice.text.startswith(f"您的号码{PREPAID}已充值50.00元")
    assert (reply.data_coding, notice.data_coding, reply.sender) == (UCS2, UCS2, "1888")
    assert balance(demo, PREPAID) == 6_000
    assert "333333" not in str(await _stored_texts(demo))  # the PIN is masked where kept
    assert (await verify(demo.platform.engine)).ok


async def test_a_redelivered_mo_applies_once(demo: DemoStack) -> None:
    demo.smsc.config = replace(demo.smsc.config, redelivery_ms=100)
    events = demo.smsc.events.subscribe()
    demo.smsc.set_faults(Faults(resp_lost_rate=1.0, seed=1))  # our ack "lost": sent again
    mo = demo.smsc.send_sms(MERCHANT, f"CZ {PREPAID} 20 333333")
    async with asyncio.timeout(5):
        async for event in events:
            if isinstance(event, MoRedelivered):
                break
    demo.smsc.set_faults(Faults())
    await asyncio.wait_for(mo.delivered, 5)
    assert mo.attempts >= 2
    await settled(demo)
    assert balance(demo, PREPAID) == 3_000
    assert len(await received(demo.smsc.handset(MERCHANT), 1)) == 1  # answered once


async def test_a_repeat_in_the_window_runs_again_only_after_y_code(demo: DemoStack) -> None:
    merchant = demo.smsc.handset(MERCHANT)
    command = f"CZ {PREPAID} 50 333333"
    await demo.smsc.send_sms(MERCHANT, command).delivered
    await received(merchant, 1)
    await demo.smsc.send_sms(MERCHANT, command).delivered
    asked = (await received(merchant, 2))[-1]
    code = re.search(r"Y (\d{6})", asked.text)
    assert code is not None, asked.text
    await settled(demo)
    assert balance(demo, PREPAID) == 6_000  # not run again yet
    await demo.smsc.send_sms(MERCHANT, f"Y {code.group(1)}").delivered
    confirmed = (await received(merchant, 3))[-1]
    assert confirmed.text.startswith("充值成功")
    assert balance(demo, PREPAID) == 11_000
    await demo.smsc.send_sms(MERCHANT, f"Y {code.group(1)}").delivered  # spent: never twice
    await received(merchant, 4)
    await settled(demo)
    assert balance(demo, PREPAID) == 11_000


async def test_garbage_gets_help_and_short_codes_no_reply(demo: DemoStack) -> None:
    await demo.smsc.send_sms(MERCHANT, "hello?? 你好").delivered
    [help_text] = await received(demo.smsc.handset(MERCHANT), 1)
    assert help_text.text.startswith("短信指令")
    await demo.smsc.send_sms("95588", "CZ 13900000001 50 333333").delivered
    await settled(demo)
    assert demo.smsc.handset("95588").received_total == 0
    assert balance(demo, PREPAID) == 1_000


async def test_ussd_over_smpp_tops_up(demo: DemoStack) -> None:
    gateway = SmppUssdGateway(demo.smsc)
    session = await gateway.dial(MERCHANT, "*123#")
    assert session.page.text.startswith("代理商服务")
    assert not session.page.end
    for value in ("1", "13900000002", "20", "333333"):
        assert not (await session.reply(value)).end
    done = await session.reply("1")
    assert done.end
    assert done.text.startswith("充值成功")
    assert balance(demo, "13900000002") == 3_000
    aborted = await gateway.dial(MERCHANT, "*123*1#")  # a shortcut straight to the top-up
    assert aborted.page.text == "请输入充值号码"
    await aborted.abort()
    await asyncio.sleep(0.1)
    retried = await gateway.dial(MERCHANT, "*123#")  # the aborted session left nothing open
    assert retried.page.text.startswith("代理商服务")


async def _stored_texts(demo: DemoStack) -> list[str]:
    async with demo.platform.engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(sms_mo))).scalar_one()
        texts = (await conn.execute(select(sms_mo.c.text))).scalars().all()
    assert count == len(texts) > 0
    return list(texts)
