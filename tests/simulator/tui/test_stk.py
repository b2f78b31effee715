"""The phone's STK mode over the demo stack, driven by Pilot in 80x24: the merchant tops up
from the service SIM's menu (keyboard and keypad), the hidden PIN masked and a short one
refused by the handset; the receipt lands in the SMS conversation and the consoles show the
balances. A subscriber's phone has no service SIM and says so. A snapshot of the mode."""

from __future__ import annotations

from textual.widgets import Input, Static

from simulator.stk import InputScreen, ListScreen, MenuScreen
from simulator.tui import SimulatorApp
from simulator.world import World
from tests.simulator.tui.snapshots import assert_snapshot
from tests.simulator.tui.test_app import (
    SIZE,
    boss_shows,
    frozen,
    ledger_shows,
    merchant,
    screen_text,
    type_text,
    until,
)


def status(app: SimulatorApp) -> str:
    return str(app.query_one("#phone-status", Static).content)


async def test_a_top_up_from_the_sim_menu(world: World) -> None:
    app = SimulatorApp(world, clock=frozen)
    async with app.run_test(size=SIZE) as pilot:
        phone = merchant(app)
        stk = phone.stk
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert screen_text(app).startswith("代理商服务\n1 话费充值\n2 缴费")
        assert status(app) == "13800000003 · SIM menu · Enter chooses (number or name)"
        await pilot.click("#key-1")  # the keypad, by mouse
        await pilot.click("#key-send")
        await until(pilot, lambda: isinstance(stk.screen, InputScreen), "asked the number")
        assert screen_text(app) == "请输入充值号码\n(11–15 digits)"
        await type_text(pilot, "13900000002")
        await pilot.press("enter")
        await until(pilot, lambda: "请输入充值金额" in screen_text(app), "asked the amount")
        await pilot.press("escape")  # back: the number again
        await until(pilot, lambda: "请输入充值号码" in screen_text(app), "back")
        await type_text(pilot, "13900000002")
        await pilot.press("enter")
        await until(pilot, lambda: "请输入充值金额" in screen_text(app), "asked the amount")
        await type_text(pilot, "30")
        await pilot.press("enter")
        await until(pilot, lambda: stk.hidden_entry, "asked the PIN")
        entry = app.query_one("#entry", Input)
        await pilot.pause()
        assert entry.password  # the PIN is masked on the entry line
        await type_text(pilot, "12345")
        await pilot.press("enter")
        await until(pilot, lambda: "✗ 请至少输入6位" in screen_text(app), "refused")
        await type_text(pilot, "333")
        await pilot.pause()
        assert_snapshot(app, "phone_stk")
        await type_text(pilot, "333")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(stk.screen, ListScreen), "the confirmation")
        assert "为13900000002充值30元，确认吗？\n1 确认\n2 取消" in screen_text(app)
        assert not entry.password
        await type_text(pilot, "确认")  # by its label
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(stk.screen, MenuScreen), "sent, the menu again")
        await pilot.press("f6")
        receipt = "充值成功：13900000002到账30.00元"
        await until(pilot, lambda: receipt in screen_text(app), "the receipt by SMS")
        assert phone.messages[0].text.startswith("STK1 ")
        await boss_shows(pilot, app, "13900000002", "¥40.00")
        await ledger_shows(pilot, app, "13800000003", "¥470.00")


async def test_the_end_key_ends_the_session_and_a_subscriber_has_no_sim(world: World) -> None:
    app = SimulatorApp(world)
    async with app.run_test(size=SIZE) as pilot:
        stk = merchant(app).stk
        await pilot.press("ctrl+t")
        await type_text(pilot, "划拨")
        await pilot.press("enter")
        await until(pilot, lambda: "请输入下级代理商号码" in screen_text(app), "asked")
        await pilot.press("f9")
        await until(pilot, lambda: isinstance(stk.screen, MenuScreen), "the menu again")
        await type_text(pilot, "转账")
        await pilot.press("enter")
        await until(pilot, lambda: "✗ no item has '转账'" in screen_text(app), "no such item")
        app.phone_view.show_number("13900000001")
        await pilot.pause()
        assert screen_text(app).startswith("No service SIM in this phone (no profile for")
        assert status(app) == "13900000001 · STK · no service SIM"
        await pilot.press("enter", "escape", "f9")  # nothing to do, nothing breaks
        assert merchant(app).messages == []
