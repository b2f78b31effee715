"""The WAP channel in a real browser: Debian's Chromium (Playwright, `tests/browser.py`) on a
128-pixel-wide screen, through the WAP gateway emulator to the demo platform on loopback.

Chromium stands for a WAP 2.0 / smartphone browser: it gets XHTML-MP (as
`application/xhtml+xml`, the type it names), no script, no CSS. Every page is checked for
sideways scrolling; money is checked on both sides (the merchant's deposit in the ledger, the
subscriber's balance at the BOSS emulator)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from playwright.async_api import Dialog, Page

from aircharge.config import WapConfig
from aircharge.demo import DemoStack
from simulator.wap_gateway import WapGateway
from tests.browser import horizontal_overflow_px
from tests.channels.wap.conftest import started
from tests.channels.wap.test_wap_http import MERCHANT, _deposit, _operation_count, _subscriber

SUBSCRIBER = "13900000001"
PIN = "333333"


async def _shown(page: Page) -> str:
    """The page's text as a reader sees it (the renderer's zero-width break hints removed)."""
    text = await page.locator("body").inner_text()
    return text.replace("\u200b", "")


async def _fits(page: Page) -> None:
    assert await horizontal_overflow_px(page) == 0, await _shown(page)


async def _submit(page: Page) -> None:
    async with page.expect_navigation():
        await page.get_by_role("button").click()
    await _fits(page)


async def _choose(page: Page, number: int) -> None:
    await page.get_by_role("radio").nth(number - 1).check()
    await _submit(page)


async def _type(page: Page, value: str) -> None:
    await page.locator("input[name=input]").fill(value)
    await _submit(page)


async def test_an_agent_tops_up_in_chromium_from_the_first_page_to_the_receipt(
    demo: DemoStack, http: aiohttp.ClientSession, browser_page: Page
) -> None:
    page = browser_page
    deposit = await _deposit(demo, MERCHANT)
    balance = (await _subscriber(http, demo, SUBSCRIBER))["balance"]
    async with WapGateway(demo.platform.url) as gateway:
        bearer = await gateway.attach(MERCHANT)
        response = await page.goto(bearer.home)
        assert response is not None
        assert response.headers["content-type"] == "application/xhtml+xml; charset=utf-8"
        await _fits(page)
        assert "话费充值" in await _shown(page)
        await _choose(page, 1)
        await _type(page, SUBSCRIBER)
        await _type(page, "50")
        assert await page.locator("input[name=input]").get_attribute("type") == "password"
        await _type(page, PIN)
        assert f"{SUBSCRIBER}" in await _shown(page)  # the confirmation names the number
        await _choose(page, 1)
        receipt = await _shown(page)
    assert receipt.startswith(f"充值成功：{SUBSCRIBER}到账50.00元"), receipt
    assert await page.get_by_role("link").count() == 1  # start again; no form on an end
    assert await page.locator("form").count() == 0
    assert await _deposit(demo, MERCHANT) == deposit - 5_000
    assert (await _subscriber(http, demo, SUBSCRIBER))["balance"] == balance + 5_000


async def test_a_forged_number_header_from_chromium_is_ignored(
    tmp_path: Path, browser_page: Page
) -> None:
    """Chromium straight at the platform, not through an allow-listed gateway, sending the
    merchant's number itself: the platform asks who is calling."""
    stack = await started(tmp_path, wap=WapConfig(allowed_gateways=("10.99.0.0/16",)))
    try:
        await browser_page.set_extra_http_headers({"X-MSISDN": f"86{MERCHANT}"})
        await browser_page.goto(f"{stack.platform.url}/wap/")
        await _fits(browser_page)
        assert await _shown(browser_page) != ""
        assert "请输入您的手机号码" in await _shown(browser_page)
        assert "话费充值" not in await _shown(browser_page)
    finally:
        await stack.close()


async def test_a_replayed_form_is_refused_in_chromium(
    demo: DemoStack, http: aiohttp.ClientSession, browser_page: Page
) -> None:
    """The confirmation form is sent, then the same form (its spent token) again from the
    page: the second one is refused and moves no money."""
    page = browser_page
    async with WapGateway(demo.platform.url) as gateway:
        bearer = await gateway.attach(MERCHANT)
        await page.goto(bearer.home)
        for answer in ("1", SUBSCRIBER, "20", PIN):
            if answer == "1":
                await _choose(page, 1)
            else:
                await _type(page, answer)
        confirm_form = await page.locator("form").evaluate("form => form.outerHTML")
        await _choose(page, 1)
        assert (await _shown(page)).startswith("充值成功")
        deposit = await _deposit(demo, MERCHANT)
        operations = await _operation_count(demo)
        # the browser sends the confirmation page's form once more, as a back-and-resend would
        await page.evaluate(
            "html => document.body.insertAdjacentHTML('beforeend', html)", confirm_form
        )
        await page.locator("form input[type=radio]").first.check()
        async with page.expect_navigation() as navigation:
            await page.locator("form input[type=submit]").click()
        response = await navigation.value
        assert response is not None
        assert response.status == 403
        await _fits(page)
        refused = await _shown(page)
    assert "充值成功" not in refused
    assert await _deposit(demo, MERCHANT) == deposit
    assert await _operation_count(demo) == operations


async def test_markup_typed_in_chromium_is_refused_and_runs_nothing(
    demo: DemoStack, browser_page: Page
) -> None:
    page = browser_page
    dialogs: list[Dialog] = []

    def opened(dialog: Dialog) -> None:  # an alert() would land here
        dialogs.append(dialog)

    page.on("dialog", opened)
    attack = "<script>alert(1)</script><b>x</b>"
    async with WapGateway(demo.platform.url) as gateway:
        bearer = await gateway.attach(MERCHANT)
        await page.goto(bearer.home)
        await _choose(page, 1)
        await _type(page, SUBSCRIBER)
        await page.locator("input[name=input]").fill(attack)
        await _submit(page)
        shown = await _shown(page)
        assert shown.startswith("金额无效")
        assert await page.locator("script").count() == 0
        assert await page.locator("b").count() == 0
    assert dialogs == []
