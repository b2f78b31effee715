"""The terminal simulator over the real demo stack, driven by Pilot in 80x24: a top-up over
each channel (SMS, USSD, IVR) typed on the phone, checked on the consoles; and snapshots of
the main screens."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from textual.pilot import Pilot
from textual.widgets import DataTable, RichLog, Static

from simulator.boss import SHANGHAI
from simulator.boss.faults import FaultConfig as BossFaults
from simulator.phones import Phone
from simulator.smsc import Faults
from simulator.tui import SimulatorApp
from simulator.tui.bank_console import BankConsole
from simulator.tui.consoles import BossConsole, LedgerConsole
from simulator.tui.ussd_console import UssdConsole
from simulator.world import World
from tests.simulator.tui.snapshots import assert_snapshot

SIZE = (80, 24)
MERCHANT = "13800000003"
FROZEN = datetime(2026, 11, 26, 16, 5, tzinfo=SHANGHAI)
WAIT_S = 10.0


def frozen() -> datetime:
    return FROZEN


async def until(pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
    """Let the app and the platform run until `condition` holds."""
    async with asyncio.timeout(WAIT_S):
        while not condition():
            await pilot.pause(0.05)
    assert condition(), what


async def type_text(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*["space" if char == " " else char for char in text])


def screen_text(app: SimulatorApp) -> str:
    return str(app.query_one("#screen-text", Static).content)


def merchant(app: SimulatorApp) -> Phone:
    app.phone_view.show_number(MERCHANT)
    return app.phones[MERCHANT]


async def boss_shows(pilot: Pilot[None], app: SimulatorApp, msisdn: str, shown: str) -> None:
    await pilot.press("f4")
    boss = app.query_one(BossConsole)
    await until(pilot, lambda: boss.shown(msisdn) == shown, f"BOSS shows {msisdn} at {shown}")


async def ledger_shows(pilot: Pilot[None], app: SimulatorApp, msisdn: str, shown: str) -> None:
    await pilot.press("f5", "r")
    ledger = app.query_one(LedgerConsole)

    def deposit() -> str | None:
        try:
            return ledger.deposit_shown(msisdn)
        except Exception:  # not loaded yet
            return None

    await until(pilot, lambda: deposit() == shown, f"the ledger shows {msisdn}'s {shown}")


async def test_an_sms_top_up_typed_on_the_merchants_phone(world: World) -> None:
    app = SimulatorApp(world)
    async with app.run_test(size=SIZE) as pilot:
        phone = merchant(app)
        await pilot.pause()
        await type_text(pilot, "CZ 13900000001 50 333333")
        await pilot.press("enter")
        await until(pilot, lambda: any(not m.outgoing for m in phone.messages), "a reply")
        reply = next(m for m in phone.messages if not m.outgoing)
        assert reply.text.startswith("充值成功：13900000001到账50.00元")
        assert reply.peer == "1888"
        assert phone.messages[0].state == "delivered"
        assert "充值成功：13900000001到账50.00元" in screen_text(app)
        await boss_shows(pilot, app, "13900000001", "¥60.00")
        await ledger_shows(pilot, app, MERCHANT, "¥450.00")


async def test_a_ussd_top_up_through_the_menus(world: World) -> None:
    app = SimulatorApp(world)
    async with app.run_test(size=SIZE) as pilot:
        phone = merchant(app)
        await pilot.press("f7", "enter")  # dials *123#
        await until(pilot, lambda: phone.ussd.status == "open", "the root menu")
        assert "1. 话费充值" in phone.ussd.page
        for answer, page in [
            ("1", "请输入充值号码"),
            ("13900000001", "请输入充值金额"),
            ("50", "请输入6位密码"),
            ("333333", "确认吗"),
        ]:
            await type_text(pilot, answer)
            await pilot.press("enter")
            await until(pilot, lambda p=page: p in phone.ussd.page, page)  # type: ignore[misc]
            assert phone.ussd.status == "open"
        await pilot.click("#key-1")  # the keypad, by mouse
        await pilot.click("#key-send")
        await until(pilot, lambda: phone.ussd.status == "ended", "the last page")
        assert phone.ussd.page.startswith("充值成功：13900000001到账50.00元")
        assert "充值成功" in screen_text(app)
        await boss_shows(pilot, app, "13900000001", "¥60.00")
        await ledger_shows(pilot, app, MERCHANT, "¥450.00")
        await pilot.press("f12")  # the gateway's callbacks, PINs masked
        console = app.query_one(UssdConsole)
        assert console.log_lines is not None
        written = console.log_lines.written
        await until(pilot, lambda: len(written) == 6, "six callbacks logged")
        text = "\n".join(written)
        assert "13800000003 begin *123# → 200 CON 代理商服务" in text
        assert "13800000003 continue ****** → 200 CON 为13900000001充值50.00元" in text
        assert "13800000003 continue 1 → 200 END 充值成功" in text
        assert "333333" not in text


async def test_an_ivr_top_up_by_keypad_shows_each_prompt_as_it_plays(world: World) -> None:
    app = SimulatorApp(world)
    async with app.run_test(size=SIZE) as pilot:
        phone = merchant(app)
        await pilot.press("f8", "enter")  # calls 1888

        async def answer(keys: str) -> None:
            """Press `keys` once the platform waits for them (it has stopped talking)."""
            await until(pilot, lambda: phone.call_state.awaiting_keys, "the platform listens")
            await type_text(pilot, keys)

        await until(pilot, lambda: "话费充值请按一" in phone.call_state.heard, "the menu")
        await answer("1")
        await until(pilot, lambda: "请输入充值号码" in phone.call_state.heard, "ask number")
        await answer("13900000002#")
        await until(pilot, lambda: "请输入充值金额" in phone.call_state.heard, "ask amount")
        await answer("30#")
        await until(pilot, lambda: "请输入6位密码" in phone.call_state.heard, "ask PIN")
        await answer("333333")
        await until(pilot, lambda: "确认吗" in phone.call_state.heard, "confirm")
        await answer("1")
        await until(pilot, lambda: phone.call_state.status == "ended", "the end of the call")
        heard = phone.call_state.heard
        assert "充值成功：幺三九零零零零零零零二到账三十元" in heard
        assert phone.call_state.keys == "113900000002#30#3333331"
        assert "充值成功" in screen_text(app)
        assert "platform hung up" in str(app.query_one("#phone-status", Static).content)
        await boss_shows(pilot, app, "13900000002", "¥40.00")
        await ledger_shows(pilot, app, MERCHANT, "¥470.00")


async def test_a_number_added_by_hand_calls_withheld_in_english(world: World) -> None:
    app = SimulatorApp(world)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f10")
        await type_text(pilot, "139 0000 12x")
        await pilot.press("enter")
        error = str(app.screen.query_one("#add-number-error", Static).content)
        assert error.startswith("not a phone number")
        await pilot.press("backspace", "3", "4", "enter")
        await pilot.pause()
        assert app.phone_view.msisdn == "13900001234"
        assert "13900001234" in app.phones.numbers
        phone = app.phones["13900001234"]
        await pilot.press("f8", "ctrl+l", "ctrl+o")
        status = str(app.query_one("#phone-status", Static).content)
        assert status == "13900001234 · IVR en · caller ID withheld"
        await pilot.press("enter")
        await until(pilot, lambda: "number" in phone.call_state.heard, "asked for the number")
        assert "Welcome" in phone.call_state.heard
        await pilot.press("f9")
        await until(pilot, lambda: phone.call_state.status == "ended", "hung up")
        status = str(app.query_one("#phone-status", Static).content)
        assert status == "13900001234 · IVR · call ended (caller hung up) · Enter calls again"


async def test_a_log_filled_while_hidden_shows_at_full_width(world: World) -> None:
    app = SimulatorApp(world)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "f2")  # the SMSC log was shown once, then hidden
        phone = merchant(app)
        await type_text(pilot, "YE 333333")
        await pilot.press("enter")
        await until(pilot, lambda: len(phone.messages) == 2, "the balance reply")
        await pilot.press("f3")
        log = app.query_one("#smsc-log", RichLog)
        await until(pilot, lambda: len(log.lines) >= 3, "the MO, its ack and the MT")
        first = log.lines[0].text.rstrip()
        assert first.endswith("MO      13800000003 → 1888 [1×0x00] YE ******"), first


async def test_faults_are_set_from_the_consoles(world: World) -> None:
    app = SimulatorApp(world)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "t", "v", "s", "a")
        faults = world.smsc.faults
        assert (faults.throttle_rate, faults.vendor_status_rate) == (0.0, 0.5)  # one or other
        assert (faults.submit_latency_ms, faults.resp_lost_rate) == (500, 0.5)
        status = str(app.query_one("#smsc-faults", Static).content)
        assert status == "t throttle 0% · v vendor 50% · s slow +500ms · a MO acks lost 50% · 0 off"
        await pilot.press("0")
        assert world.smsc.faults == Faults(seed=faults.seed)
        assert world.boss_faults is not None
        await pilot.press("f4", "l", "o", "o", "e")
        boss = world.boss_faults.config
        assert (boss.latency_ms, boss.timeout_rate, boss.error_rate) == (2_000, 0.0, 0.5)
        shown = str(app.query_one("#boss-faults", Static).content)
        assert shown == "l latency 2000ms · o time-out 0% · e 503 50% · p lost 0% · 0 off"
        await pilot.press("0")
        assert world.boss_faults.config == BossFaults(seed=boss.seed)


async def test_a_lost_boss_answer_is_pending_then_settled(world: World) -> None:
    app = SimulatorApp(world)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4", "p", "p")  # every BOSS answer lost (the credit applied)
        phone = merchant(app)
        await pilot.press("f2")
        await type_text(pilot, "CZ 13900000003 5 333333")
        await pilot.press("enter")
        await until(pilot, lambda: any("交易处理中" in m.text for m in phone.messages), "pending")
        await pilot.press("f4", "0")  # BOSS answers again: the resolver asks it and settles
        settled = "13900000003的充值5.00元"
        await until(pilot, lambda: any(settled in m.text for m in phone.messages), "settled")
        await boss_shows(pilot, app, "13900000003", "¥15.00")
        await ledger_shows(pilot, app, MERCHANT, "¥495.00")


async def test_a_deposit_made_at_the_bank_reaches_the_ledger_once(world: World) -> None:
    assert world.bank_notifier is not None
    app = SimulatorApp(world)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f11", "u")  # every notification delivered twice more
        assert world.bank_notifier.faults.duplicate_deliveries == 2
        await pilot.press("n")
        await type_text(pilot, "13800000003")
        await pilot.press("enter")
        await type_text(pilot, "12.5x")
        await pilot.press("enter")
        error = str(app.screen.query_one("#deposit-error", Static).content)
        assert error.startswith("the amount: yuan")
        await pilot.press("backspace", "enter")
        bank = app.query_one(BankConsole)
        [transfer] = world.bank.recent(5)
        assert (transfer.request.reference, transfer.request.amount_fen) == ("13800000003", 1250)

        def told() -> str:
            bank.refresh_table()
            table: DataTable[str] = bank.query_one("#bank-table", DataTable)
            return table.get_cell(transfer.txn_id, "platform told")

        await until(pilot, lambda: told() == "delivered", "the platform told")
        await ledger_shows(pilot, app, MERCHANT, "¥512.50")  # credited once, not three times
        await pilot.pause(1.0)  # the duplicate deliveries have come by now
        await ledger_shows(pilot, app, MERCHANT, "¥512.50")


async def test_snapshots_of_the_phone_and_the_consoles(world: World) -> None:
    app = SimulatorApp(world, clock=frozen)
    async with app.run_test(size=SIZE) as pilot:
        phone = merchant(app)
        await type_text(pilot, "BZ")
        await pilot.press("enter")
        await until(pilot, lambda: len(phone.messages) == 2, "the help reply")
        await until(pilot, lambda: phone.messages[0].state == "delivered", "the MO acked")
        await pilot.pause(0.5)  # the receipt, logged by the SMSC console
        assert_snapshot(app, "phone_sms")
        await pilot.press("f3")
        await pilot.pause(0.3)
        assert_snapshot(app, "smsc_console")
        await pilot.press("f4")
        await pilot.pause(0.3)
        assert_snapshot(app, "boss_console")
        await ledger_shows(pilot, app, MERCHANT, "¥500.00")
        assert_snapshot(app, "ledger_console")
        await pilot.press("f11")
        await pilot.pause(0.3)
        assert_snapshot(app, "bank_console")
        await pilot.press("f1")
        await pilot.pause()
        assert_snapshot(app, "help")
