"""A handset's browser model through the gateway to the stand-in platform: a whole top-up
from the menu to the receipt in WML (Chinese) and XHTML-MP (English), the number header on
every request; a replayed form refused; the gateway's error page shown when the platform is
down."""

from __future__ import annotations

import socket

import pytest

from simulator.wap_browser import EntryRefused, Flavour, WapBrowser
from simulator.wap_gateway import WapGateway
from tests.simulator.wap_gateway.mimic import Mimic

AGENT = "13800000003"


@pytest.mark.parametrize(
    ("flavour", "language", "receipt"),
    [
        (
            "wml",
            "zh-CN",
            ["充值成功：", "13900000001到账", "50.00元，流水号", "R1，余额950.00元。"],
        ),
        (
            "xhtml",
            "en",
            [
                "Done: 13900000001",
                "received CNY",
                "50.00. Ref R1.",
                "Your balance: CNY",
                "950.00.",
            ],
        ),
    ],
)
async def test_an_agent_tops_up_from_the_menu_to_the_receipt(
    gateway: WapGateway, mimic: Mimic, flavour: Flavour, language: str, receipt: list[str]
):
    bearer = await gateway.attach(AGENT)
    async with WapBrowser(flavour, accept_language=language) as browser:
        menu = await browser.open(bearer.home)
        assert (menu.flavour, browser.status) == (flavour, 200)
        browser.choose("1")
        await browser.submit()
        with pytest.raises(EntryRefused):
            browser.type("1390000000x" if flavour == "wml" else "1" * 16)
        browser.type("13900000001")
        await browser.submit()
        await browser.answer("50")
        await browser.answer("333333")
        assert "333333" not in browser.text()
        done = await browser.answer("1")
        assert done.form is None
        assert browser.lines()[2:] == receipt
    assert mimic.inputs == ["1", "13900000001", "50", "333333", "1"]
    [operation] = mimic.operations
    assert operation.name == "topup"
    assert [r.headers["x-msisdn"] for r in mimic.received] == [[AGENT]] * 6
    accept = mimic.received[0].headers["accept"][0]
    assert ("text/vnd.wap.wml" in accept) == (flavour == "wml")


async def test_a_replayed_form_is_refused(gateway: WapGateway, mimic: Mimic):
    bearer = await gateway.attach(AGENT)
    async with WapBrowser("xhtml") as browser:
        await browser.open(bearer.home)
        browser.choose("1")
        sent = browser.submission()
        await browser.send(sent)
        replayed = await browser.send(sent)
    assert browser.status == 403
    assert replayed.lines == ("spent or unknown form token",)
    assert mimic.inputs == ["1"]


async def test_the_gateways_error_page_is_a_page_the_browser_shows():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with WapGateway(f"http://127.0.0.1:{port}") as gateway:
        bearer = await gateway.attach(AGENT)
        for flavour in ("wml", "xhtml"):
            async with WapBrowser(flavour) as browser:
                screen = await browser.open(bearer.home)
                assert (browser.status, screen.flavour, screen.title) == (502, flavour, "网关错误")
                assert screen.lines == ("无法连接到服务，请稍后再试。 (502)",)
