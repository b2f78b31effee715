"""End to end through the Asterisk emulator: calls reach the platform's FastAGI server, walk
the shared flows by DTMF, move money through the ledger and the BOSS emulator, and leave an
SMS receipt in the merchant's handset. Money is checked at BOSS and in the ledger."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp
import pytest

from aircharge.config import IvrConfig
from aircharge.demo import DemoStack, start_demo
from aircharge.ivr_sounds import platform_sounds
from dialogs.catalogue import Catalogue
from ledger.accounts import get_account
from ledger.money import Msisdn
from ledger.verify import verify
from simulator.asterisk.emulator import AsteriskEmulator
from simulator.asterisk.record import CallRecord, Ending
from simulator.asterisk.script import HangUp, Press, Step, Wait
from simulator.boss import Msisdn as BossMsisdn
from tests.conftest import loopback_config
from tests.test_demo_sms_e2e import received

MERCHANT = "13800000003"
PIN = "333333"
SUBSCRIBER = "13900000002"
START_FEN = 1_000  # every demo prepaid subscriber's balance
DEPOSIT_FEN = 50_000  # the merchant's demo deposit
SOUNDS = platform_sounds(Catalogue.load())


def topup(number: str = SUBSCRIBER, yuan: str = "30", pin: str = PIN) -> list[Step]:
    return [Press("1"), Press(f"{number}#"), Press(f"{yuan}#"), Press(pin), Press("1")]


def emulator(demo: DemoStack) -> AsteriskEmulator:
    assert demo.platform.ivr is not None
    return AsteriskEmulator("127.0.0.1", demo.platform.ivr.port, SOUNDS)


def boss_balance(demo: DemoStack, msisdn: str) -> int:
    subscriber = demo.boss_state.subscriber(BossMsisdn("86" + msisdn))
    assert subscriber is not None
    return int(subscriber.balance_fen)


async def deposit(demo: DemoStack) -> int:
    """The merchant's deposit, posted (no sale left reserved: posted equals available)."""
    agent = await demo.platform.operations.find_agent(Msisdn("86" + MERCHANT))
    assert agent is not None
    async with demo.platform.engine.connect() as conn:
        account = await get_account(conn, agent.deposit_account_id)
    assert account.available == account.balance, "a sale still reserved"
    return account.balance


def heard(record: CallRecord) -> str:
    return "".join(record.texts)


async def test_a_merchant_tops_up_30_yuan_by_dtmf(demo: DemoStack) -> None:
    record = await emulator(demo).place_call("main", MERCHANT, "zh", topup())
    assert record.ending is Ending.PLATFORM_HUNG_UP, record.error
    said = heard(record)
    assert said.startswith("欢迎使用空中充值服务。代理商服务话费充值请按一")
    assert "为幺三九零零零零零零零二充值三十元，确认吗？" in said
    assert "充值成功：幺三九零零零零零零零二到账三十元" in said
    assert said.endswith("感谢您的使用，再见。")
    assert record.missing_sounds == []
    assert record.lost_keys == ""
    assert record.commands[-1].line == "HANGUP"
    assert boss_balance(demo, SUBSCRIBER) == START_FEN + 3_000
    assert await deposit(demo) == DEPOSIT_FEN - 3_000
    [receipt] = await received(demo.smsc.handset(MERCHANT), 1)
    [notice] = await received(demo.smsc.handset(SUBSCRIBER), 1)
    assert receipt.text.startswith(f"充值成功：{SUBSCRIBER}到账30.00元")
    assert notice.text.startswith(f"您的号码{SUBSCRIBER}已充值30.00元")
    assert (await verify(demo.platform.engine)).ok


async def test_english_calls_hear_english(demo: DemoStack) -> None:
    record = await emulator(demo).place_call("main", MERCHANT, "en", topup(yuan="5*5"))
    said = " ".join(record.texts)
    assert said.startswith("Welcome to aircharge.")
    assert "five point five" in said  # typed 5*5: ¥5.50
    assert boss_balance(demo, SUBSCRIBER) == START_FEN + 550


async def test_a_withheld_caller_gives_the_number_then_the_pin(demo: DemoStack) -> None:
    script = [Press(f"{MERCHANT}#"), *topup(yuan="20")]
    record = await emulator(demo).place_call("main", None, "zh", script)
    said = heard(record)
    assert "未能识别您的号码，请输入您的手机号码" in said
    assert "充值成功" in said
    assert boss_balance(demo, SUBSCRIBER) == START_FEN + 2_000
    assert await deposit(demo) == DEPOSIT_FEN - 2_000


async def test_a_withheld_caller_with_a_wrong_pin_moves_nothing(demo: DemoStack) -> None:
    script = [Press(f"{MERCHANT}#"), *topup(pin="111111")]
    record = await emulator(demo).place_call("main", None, "zh", script)
    assert "密码错误" in heard(record)
    assert boss_balance(demo, SUBSCRIBER) == START_FEN
    assert await deposit(demo) == DEPOSIT_FEN


async def test_silence_is_prompted_again_then_a_polite_goodbye(demo: DemoStack) -> None:
    record = await emulator(demo).place_call("main", MERCHANT, "zh", [Wait(), Wait(), Wait()])
    said = heard(record)
    assert said.count("代理商服务") == 3  # the menu, then twice again with a notice
    assert "输入错误次数过多，会话已结束。感谢您的使用，再见。" in said
    assert record.ending is Ending.PLATFORM_HUNG_UP
    gets = [c for c in record.commands if c.line.startswith("GET DATA")]
    assert [c.reply for c in gets] == ["200 result= (timeout)"] * 3


async def test_a_subscriber_caller_gets_the_subscriber_menu(demo: DemoStack) -> None:
    record = await emulator(demo).place_call("main", "13900000005", "zh", [Press("3")])
    said = heard(record)
    assert said.startswith("欢迎使用空中充值服务。自助服务话费转赠请按一")
    assert "短信发送BZ到1888查看指令" in said  # help, chosen with 3
    assert "代理商服务" not in said


async def test_an_unknown_entry_path_is_answered_politely(demo: DemoStack) -> None:
    record = await emulator(demo).place_call("nope", MERCHANT, "zh", [])
    assert heard(record) == "系统繁忙，请稍后再试。感谢您的使用，再见。"
    assert record.ending is Ending.PLATFORM_HUNG_UP


async def _hang_up_everywhere(demo: DemoStack) -> tuple[CallRecord, list[CallRecord]]:
    """A whole call, then one call per place a caller can hang up: after each press, then
    after each command up to the next input; each once with a HANGUP line and once by the
    line dropping."""
    phone = emulator(demo)
    full = await phone.place_call("main", MERCHANT, "zh", topup("13900000003", "1"))
    assert full.ending is Ending.PLATFORM_HUNG_UP
    collects = [i for i, c in enumerate(full.commands) if c.line.startswith("GET DATA")]
    bounds = [*collects, len(full.commands)]
    presses = topup("13900000003", "1")
    records = []
    for pressed in range(len(presses) + 1):
        start = bounds[pressed - 1] if pressed else 0
        for after in range(bounds[pressed] - start + 2):
            for drop in (False, True):
                script = [*presses[:pressed], HangUp(after_commands=after, drop=drop)]
                records.append(await phone.place_call("main", MERCHANT, "zh", script))
    return full, records


async def test_hanging_up_at_any_command_leaves_boss_and_the_ledger_consistent(
    demo: DemoStack,
) -> None:
    before = boss_balance(demo, "13900000003")
    full, records = await _hang_up_everywhere(demo)
    assert all(r.ok for r in records), [r.error for r in records if not r.ok]
    every = set(range(1, len(full.commands)))  # before each command but the platform's HANGUP
    for ending in (Ending.CALLER_HUNG_UP, Ending.DROPPED):
        ended_at = {len(r.commands) for r in records if r.ending is ending}
        assert every - ended_at == set(), f"{ending}: at every command"
    await demo.platform.operations.resolve_due()
    assert await demo.platform.operations.open_outcomes() == 0
    credited = boss_balance(demo, "13900000003") - before
    assert credited % 100 == 0
    assert credited > 0, "some calls hung up after confirming: their top-ups completed"
    assert await deposit(demo) == DEPOSIT_FEN - credited  # what BOSS credited, no more
    assert (await verify(demo.platform.engine)).ok
    # Every completed top-up (the whole call's and those of callers who hung up after
    # confirming) sent the merchant its receipt, caller there or not.
    topups = credited // 100
    merchant = demo.smsc.handset(MERCHANT)
    receipts = await received(merchant, topups)  # the inbox keeps the latest ones
    assert merchant.received_total == topups
    assert all(m.text.startswith("充值成功") for m in receipts)


async def test_calls_from_unlisted_addresses_are_refused(tmp_path: Path) -> None:
    config = loopback_config(ivr=IvrConfig(allowed_asterisks=("10.0.0.0/8",)))
    stack = await start_demo(config, tmp_path / "demo")
    try:
        record = await emulator(stack).place_call("main", MERCHANT, "zh", topup())
        assert record.commands == []
        assert record.ending in (Ending.DROPPED, Ending.FAILED, Ending.SCRIPT_ENDED)
        assert stack.platform.ivr is not None
        assert stack.platform.ivr.counters.snapshot()["connection_refused"] == 1
        assert boss_balance(stack, SUBSCRIBER) == START_FEN
    finally:
        await stack.close()


async def _raw(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    try:
        async with asyncio.timeout(5):
            return await reader.read()
    finally:
        writer.close()


async def test_garbage_on_the_agi_port_is_dropped_and_the_server_goes_on(
    demo: DemoStack,
) -> None:
    assert demo.platform.ivr is not None
    port = demo.platform.ivr.port
    assert await _raw(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == b""
    assert await _raw(port, b"agi_network: yes\n\x00\xff garbage\n\n") == b""
    assert demo.platform.ivr.counters.snapshot()["protocol_error"] == 2
    record = await emulator(demo).place_call("main", MERCHANT, "zh", topup(yuan="1"))
    assert "充值成功" in heard(record)


async def test_an_environment_that_never_ends_is_dropped(
    demo: DemoStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("channels.ivr.server.environment_timeout_s", 0.2)
    assert demo.platform.ivr is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", demo.platform.ivr.port)
    writer.write(b"agi_network: yes\nagi_request: agi://127.0.0.1/main\n")
    async with asyncio.timeout(5):
        assert await reader.read() == b""  # closed by the platform
    writer.close()
    assert demo.platform.ivr.counters.snapshot()["environment_timeout"] == 1


async def test_classic_agi_through_the_relay(demo: DemoStack, tmp_path: Path) -> None:
    assert demo.platform.ivr is not None
    program = [sys.executable, "-m", "aircharge", "agi", "--port", str(demo.platform.ivr.port)]
    record = await emulator(demo).run_agi(program, script=topup(yuan="8"))
    assert "充值成功" in heard(record), record.error
    assert record.exit_code == 0
    assert boss_balance(demo, SUBSCRIBER) == START_FEN + 800


async def test_a_hang_up_reaches_the_platform_through_the_relay(demo: DemoStack) -> None:
    assert demo.platform.ivr is not None
    program = [sys.executable, "-m", "aircharge", "agi", "--port", str(demo.platform.ivr.port)]
    script: list[Step] = [Press("1"), HangUp(after_commands=3)]
    record = await emulator(demo).run_agi(program, script=script)
    assert record.ending is Ending.CALLER_HUNG_UP
    assert record.exit_code == 0
    async with asyncio.timeout(5):
        while demo.platform.ivr.counters.snapshot()["caller_hung_up"] < 1:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_the_demo_places_calls_for_curl(demo: DemoStack) -> None:
    assert demo.asterisk_http is not None
    calls = f"{demo.asterisk_http.url}/asterisk/calls"
    body = {"from": MERCHANT, "keys": ["1", f"{SUBSCRIBER}#", "30#", PIN, "1"]}
    async with aiohttp.ClientSession() as http:
        async with http.post(calls, json=body) as response:
            assert response.status == 200
            answer = await response.json()
        assert answer["ending"] == "platform hung up"
        assert any(text.startswith("充值成功") for text in answer["heard"])
        assert boss_balance(demo, SUBSCRIBER) == START_FEN + 3_000
        for wrong, reason in (
            ({"keys": "1"}, "keys must be a list"),
            ({"keys": ["x"]}, "DTMF keys are"),
            ({"keys": [], "language": "fr"}, "language must be one of"),
            ({"keys": [], "pin": "1"}, "pin"),
        ):
            async with http.post(calls, json=wrong) as response:
                assert response.status == 400
                assert reason in (await response.json())["error"]
    assert boss_balance(demo, SUBSCRIBER) == START_FEN + 3_000


async def test_a_shutdown_mid_operation_still_completes_it_and_sends_the_receipt(
    demo: DemoStack,
) -> None:
    assert demo.platform.ivr is not None
    slow = {"latency_ms": 500}
    async with (
        aiohttp.ClientSession() as http,
        http.put(f"{demo.boss.url}/boss/faults", json=slow) as put,
    ):
        assert put.status == 200
    call = asyncio.create_task(emulator(demo).place_call("main", MERCHANT, "zh", topup()))
    async with asyncio.timeout(10):
        while await demo.platform.operations.open_outcomes() == 0:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    await demo.platform.ivr.close()  # cancels the call, waits for its operation
    record = await call
    assert "充值成功" not in heard(record), "the call was cut before the result"
    assert await demo.platform.operations.open_outcomes() == 0
    assert boss_balance(demo, SUBSCRIBER) == START_FEN + 3_000
    assert await deposit(demo) == DEPOSIT_FEN - 3_000
    [receipt] = await received(demo.smsc.handset(MERCHANT), 1)
    assert receipt.text.startswith(f"充值成功：{SUBSCRIBER}到账30.00元")
