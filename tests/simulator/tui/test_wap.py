"""The WAP handset and the WAP gateway console over the real demo stack, driven by Pilot in
80x24: a top-up typed on the handset's browser behind the gateway, checked on the consoles;
the browser and gateway switches (WML, no number header: the sign-in pages); a key the page's
field refuses; snapshots of the WAP mode and the console."""

from __future__ import annotations

from textual.widgets import Input, Static

from simulator.tui import SimulatorApp
from simulator.tui.wap_console import WapConsole, describe_wap
from simulator.wap_gateway.events import Attached, Detached, Forwarded, ForwardFailed
from simulator.world import World
from tests.simulator.tui.snapshots import assert_snapshot
from tests.simulator.tui.test_app import (
    MERCHANT,
    SIZE,
    boss_shows,
    frozen,
    ledger_shows,
    merchant,
    screen_text,
    type_text,
    until,
)


def status_line(app: SimulatorApp) -> str:
    return str(app.query_one("#phone-status", Static).content)


async def test_a_wap_top_up_on_the_handsets_browser(world: World) -> None:
    app = SimulatorApp(world)
    async with app.run_test(size=SIZE) as pilot:
        phone = merchant(app)
        await pilot.press("ctrl+b")
        assert "Press Enter to open the WAP home page." in screen_text(app)
        assert status_line(app) == "13800000003 · XHTML · № sent · Enter opens /wap/"
        await pilot.press("enter")
        await until(pilot, lambda: "代理商服务" in phone.wap.page, "the agent's menu")
        assert "│( ) 1. 话费充值   │" in screen_text(app)  # 18 columns, in a frame
        for answer, page in [
            ("1", "请输入充值号码"),
            ("13900000001", "请输入充值金额"),
            ("50", "请输入6位密码"),
            ("333333", "确认吗"),
        ]:
            # the entry line masks what is typed into the page's password field, and only that
            assert app.query_one("#entry", Input).password == (page == "确认吗")
            await type_text(pilot, answer)
            await pilot.press("enter")
            await until(pilot, lambda p=page: p in phone.wap.page, page)  # type: ignore[misc]
        await pilot.click("#key-1")  # the keypad, by mouse
        await pilot.click("#key-send")
        await until(pilot, lambda: "充值成功" in phone.wap.page, "the receipt page")
        assert phone.wap.links == ("重新开始",)
        assert status_line(app).endswith("Enter follows link")
        assert "> 重新开始" in screen_text(app)
        await until(pilot, lambda: any("充值成功" in m.text for m in phone.messages), "the SMS")
        await boss_shows(pilot, app, "13900000001", "¥60.00")
        await ledger_shows(pilot, app, MERCHANT, "¥450.00")

        await pilot.press("ctrl+g")  # the gateway's log: every request, PINs masked
        console = app.query_one(WapConsole)
        assert console.log_lines is not None
        written = console.log_lines.written
        await until(pilot, lambda: len(written) == 7, "attach and six requests logged")
        assert "attach  13800000003 bearer http://127.0.0.1:" in written[0]
        assert "13800000003 GET /wap/ → 200 XHTML-MP · number added (" in written[1]
        assert all("POST /wap/ → 200 XHTML-MP · number added" in line for line in list(written)[2:])
        assert "333333" not in "\n".join(written)

        await pilot.press("f2")
        await pilot.press("enter")  # follows "start again": the menu
        await until(pilot, lambda: "代理商服务" in phone.wap.page, "the menu again")


async def test_wml_without_the_number_header_asks_and_refuses_a_letter(world: World) -> None:
    assert world.wap is not None
    app = SimulatorApp(world)
    async with app.run_test(size=SIZE) as pilot:
        phone = merchant(app)
        await pilot.press("ctrl+b", "ctrl+l", "ctrl+o")
        assert (phone.wap_flavour, world.wap.enrich) == ("wml", False)
        assert status_line(app) == "13800000003 · WML · no № · Enter opens /wap/"
        assert "Ctrl+L browser: WML · Ctrl+O gateway: no number header" in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: "请输入您的手机号码" in phone.wap.page, "the sign-in page")
        await type_text(pilot, "138x")  # the WML field's format takes digits only
        entry = app.query_one("#entry", Input)
        assert entry.value == "138"
        assert "✗ 'x' refused at position 4: format *N takes a digit there" in screen_text(app)
        await type_text(pilot, "00000003")
        assert "✗" not in screen_text(app)
        assert "│[13800000003]     │" in screen_text(app)  # the field shows what it took
        await pilot.press("enter")
        await until(pilot, lambda: "代理商请输入6位密码" in phone.wap.page, "the PIN page")
        await type_text(pilot, "333")
        assert "│[***]             │" in screen_text(app)  # a password field, masked
        await type_text(pilot, "333")
        await pilot.press("enter")
        await until(pilot, lambda: "代理商服务" in phone.wap.page, "signed in: the menu")
        await pilot.press("f9")  # leaves the page
        assert phone.wap.status == "idle"
        assert "Press Enter to open the WAP home page." in screen_text(app)
        await pilot.press("ctrl+o", "ctrl+l")
        assert (phone.wap_flavour, world.wap.enrich) == ("xhtml", True)
        await pilot.press("f8")  # in IVR mode the same keys are the call's again
        await pilot.press("ctrl+l")
        assert app.phone_view.call_language == "en"
        assert (phone.wap_flavour, world.wap.enrich) == ("xhtml", True)


async def test_snapshots_of_the_wap_handset_and_console(world: World) -> None:
    assert world.wap is not None
    app = SimulatorApp(world, clock=frozen)
    async with app.run_test(size=SIZE) as pilot:
        # the console first, with events of fixed ports and times (real ones vary per run)
        await pilot.press("ctrl+g")
        for event in EXAMPLE_EVENTS:
            world.wap.events.publish(event)
        console = app.query_one(WapConsole)
        assert console.log_lines is not None
        written = console.log_lines.written
        await until(pilot, lambda: len(written) == len(EXAMPLE_EVENTS), "the events logged")
        assert written[3].endswith("GET /wap/?pin=****** → 504 failed: no answer in time")
        assert_snapshot(app, "wap_console")

        await pilot.press("f2")
        phone = merchant(app)
        await pilot.press("ctrl+b", "enter")
        await until(pilot, lambda: "代理商服务" in phone.wap.page, "the agent's menu")
        for answer, page in [("1", "请输入充值号码"), ("13900000001", "请输入充值金额")]:
            await type_text(pilot, answer)
            await pilot.press("enter")
            await until(pilot, lambda p=page: p in phone.wap.page, page)  # type: ignore[misc]
        await type_text(pilot, "50")
        await pilot.pause()
        assert_snapshot(app, "phone_wap")


EXAMPLE_EVENTS = (
    Attached("13800000003", "http://127.0.0.1:41234"),
    Forwarded("13800000003", "GET", "/wap/", 200, "text/vnd.wap.wml; charset=utf-8", True, (), 9.0),
    Forwarded(
        "13800000003",
        "POST",
        "/wap/",
        200,
        "application/vnd.wap.xhtml+xml; charset=utf-8",
        False,
        ("X-MSISDN",),
        14.2,
    ),
    ForwardFailed("13900000001", "GET", "/wap/?pin=333333", 504, "no answer in time"),
    Detached("13900000001"),
)


def test_every_gateway_event_is_one_line() -> None:
    lines = [describe_wap(event) for event in EXAMPLE_EVENTS]
    assert lines == [
        "attach  13800000003 bearer http://127.0.0.1:41234",
        "13800000003 GET /wap/ → 200 WML · number added (9 ms)",
        "13800000003 POST /wap/ → 200 XHTML-MP · no number header · stripped X-MSISDN (14 ms)",
        "13900000001 GET /wap/?pin=333333 → 504 failed: no answer in time",
        "detach  13900000001",
    ]  # the console's log masks the PINs (EventLog), the gateway masks its paths itself
