"""An STK top-up end to end over the real protocols: sealed with the demo SIM's profile (as
`aircharge demo` writes it for the simulator's SIM), sent by the handset to the SMSC emulator,
delivered over SMPP to the platform's SMS channel, opened by the STK gate, run through the
ledger and the BOSS emulator; the receipt comes back by SMS. Once with texts sealed here (to
reach re-deliveries and old counters), once through the emulated SIM and handset running the
exported menu program."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import aiohttp

from aircharge.demo import DemoStack
from channels.stk.compiler import STK_FLOW, compile_program
from channels.stk.program import load_program
from channels.stk.secure import SimKeys, protect
from dialogs.catalogue import Catalogue
from dialogs.flow import load_flows
from ledger.verify import verify
from simulator.boss import Msisdn as BossMsisdn
from simulator.smsc import Faults, MoRedelivered
from simulator.stk import Handset, ListScreen, MenuScreen, SimCard, load_profile, save_profile
from tests.test_demo_sms_e2e import received, settled

MERCHANT = "13800000003"
PREPAID = "13900000001"


def balance(demo: DemoStack, msisdn: str) -> int:
    subscriber = demo.boss_state.subscriber(BossMsisdn("86" + msisdn))
    assert subscriber is not None
    return int(subscriber.balance_fen)


def sealer(demo: DemoStack) -> tuple[str, SimKeys]:
    path = demo.data_dir / "sims" / f"86{MERCHANT}.json"
    profile = json.loads(path.read_text(encoding="utf-8"))
    assert profile["service_number"] == "1888"
    return profile["sim_id"], SimKeys(bytes.fromhex(profile["kic"]), bytes.fromhex(profile["kid"]))


async def test_an_stk_topup_over_smpp_runs_once_and_an_old_counter_is_refused(
    demo: DemoStack,
) -> None:
    sim_id, keys = sealer(demo)
    merchant = demo.smsc.handset(MERCHANT)
    text = protect(f"TOPUP 86{PREPAID} 50 333333", sim_id, 1, keys)

    demo.smsc.config = replace(demo.smsc.config, redelivery_ms=100)
    events = demo.smsc.events.subscribe()
    demo.smsc.set_faults(Faults(resp_lost_rate=1.0, seed=1))  # our ack "lost": sent again
    mo = demo.smsc.send_sms(MERCHANT, text)
    async with asyncio.timeout(5):
        async for event in events:
            if isinstance(event, MoRedelivered):
                break
    demo.smsc.set_faults(Faults())
    await asyncio.wait_for(mo.delivered, 5)
    assert mo.attempts >= 2
    await settled(demo)
    [reply] = await received(merchant, 1)
    assert reply.text.startswith(f"充值成功：{PREPAID}到账50.00元")
    assert balance(demo, PREPAID) == 6_000

    await demo.smsc.send_sms(MERCHANT, text).delivered  # later, the same SMS again: silent
    await demo.smsc.send_sms(MERCHANT, protect("BAL 333333", sim_id, 1, keys)).delivered
    await settled(demo)
    [_, refused] = await received(merchant, 2)
    assert refused.text.startswith("您的SIM卡菜单重复发送了旧请求")
    assert balance(demo, PREPAID) == 6_000
    assert demo.platform.sms is not None
    counts = demo.platform.sms.stk_counters.snapshot()
    assert (counts["answers_opened"], counts["refused_old_counter"]) == (1, 1)
    assert counts["answers_redelivered"] >= 1
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{demo.platform.url}/metrics") as response,
    ):
        metrics = await response.text()
    assert 'aircharge_stk_events_total{event="refused_old_counter"} 1.0' in metrics
    assert 'aircharge_operations_total{channel="stk",operation="topup",outcome="ok"} 1.0' in metrics
    assert (await verify(demo.platform.engine)).ok


async def test_a_topup_from_the_emulated_sim_menu_reaches_the_ledger_once(
    demo: DemoStack,
) -> None:
    profile_path = demo.data_dir / "sims" / f"86{MERCHANT}.json"
    program = compile_program(load_flows()[STK_FLOW], Catalogue.load(), "zh-CN", "1888")
    card = SimCard(
        load_program(program), load_profile(profile_path), lambda p: save_profile(profile_path, p)
    )

    async def send_sms(destination: str, text: str) -> None:
        await demo.smsc.send_sms(MERCHANT, text, destination).delivered

    phone = Handset(card, send_sms)
    merchant = demo.smsc.handset(MERCHANT)
    for n in (1, 2):  # the same top-up twice, each confirmed on the SIM: both run
        await phone.select(1)
        await phone.enter(PREPAID)
        await phone.enter("50")
        confirm = await phone.enter("333333")
        assert isinstance(confirm, ListScreen)
        assert isinstance(await phone.select(1), MenuScreen)  # sent
        await settled(demo)
        replies = await received(merchant, n)
        assert replies[-1].text.startswith(f"充值成功：{PREPAID}到账50.00元")
    assert load_profile(profile_path).counter == 2
    assert balance(demo, PREPAID) == 11_000
    assert (await verify(demo.platform.engine)).ok
