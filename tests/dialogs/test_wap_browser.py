"""XHTML-MP pages from `dialogs.render.wap` in a real browser: headless Chromium, 128 pixels
wide (tests/browser.py), served by a tiny aiohttp app on loopback.

Every page fits the width (no horizontal scrolling) in both languages, with the widest
values, long texts and a long unbroken number; a radio choice and a typed entry are posted as
the form's `input` next to its token and fields; hostile text, shown or typed, stays text and
no script runs. Chromium does not render the WAP media type itself (it downloads it), which is
why the pages are served here as `application/xhtml+xml`: see the last test.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import MultiDict
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from dialogs.catalogue import LANGUAGES, Catalogue
from dialogs.engine import CONFIRM_CHOICES
from dialogs.events import INPUTS, Ask, End, Event, Message
from dialogs.render.wap import XHTML_CONTENT_TYPE, ZERO_WIDTH_SPACE, FormTarget, render_xhtml
from tests.browser import horizontal_overflow_px

CATALOGUE = Catalogue.load()
XHTML_AS_XML: Final = "application/xhtml+xml; charset=utf-8"  # what Chromium renders
TOKEN: Final = "tok-1"
SESSION: Final = "sess-1"

WIDEST_FEN = 1_000_000_000
WIDEST_MSISDN = "861390000000123"
WIDEST_REF = "AC261126235959ABCDEF0123"
LONG_NUMBER = "86139000000012345678901234567890"  # 32 digits with no break opportunity
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> &amp; $(input)'

PAGES: Final[dict[str, Event]] = {
    "menu": Ask(
        Message("agent.menu"), (Message("agent.menu.topup"), Message("agent.menu.balance"))
    ),
    "msisdn": Ask(Message("topup.ask_msisdn"), input=INPUTS["msisdn"]),
    "amount": Ask(
        Message("topup.ask_amount", {"msisdn": WIDEST_MSISDN}),
        input=INPUTS["amount"],
        notice=Message("input.invalid.amount"),
    ),
    "pin": Ask(Message("common.ask_pin"), input=INPUTS["pin"]),
    "confirm": Ask(
        Message("topup.confirm", {"msisdn": WIDEST_MSISDN, "amount_fen": WIDEST_FEN}),
        CONFIRM_CHOICES,
    ),
    "done": End(
        Message(
            "topup.done",
            {
                "msisdn": WIDEST_MSISDN,
                "amount_fen": WIDEST_FEN,
                "ref": WIDEST_REF,
                "balance_fen": WIDEST_FEN,
            },
        )
    ),
    "long-number": End(Message("outcome.pending", {"ref": LONG_NUMBER})),
    "hostile": Ask(
        Message("outcome.pending", {"ref": HOSTILE}),
        input=INPUTS["regex"],  # 32 characters: room for a typed script
        notice=Message("outcome.pending", {"ref": HOSTILE}),
    ),
}

POSTED: web.AppKey[list[MultiDict[str]]] = web.AppKey("posted", list)


def _page(event: Event, language: str, content_type: str = XHTML_AS_XML) -> web.Response:
    form = FormTarget(f"/submit?lang={language}", TOKEN, {"session": SESSION})
    page = render_xhtml(event, CATALOGUE, language, form)
    assert page.content_type == XHTML_CONTENT_TYPE
    return web.Response(body=page.body.encode("utf-8"), headers={"Content-Type": content_type})


async def show(request: web.Request) -> web.Response:
    return _page(PAGES[request.match_info["name"]], request.query["lang"])


async def show_wap_type(request: web.Request) -> web.Response:
    request.app[POSTED].append(MultiDict({"accept": request.headers.get("Accept", "")}))
    return _page(PAGES["menu"], "en", XHTML_CONTENT_TYPE)


async def submit(request: web.Request) -> web.Response:
    """Record the form and answer with a page that shows the answer back, as text."""
    form = MultiDict((name, str(value)) for name, value in (await request.post()).items())
    request.app[POSTED].append(form)
    echo = End(Message("outcome.pending", {"ref": form.get("input", "")}))
    return _page(echo, request.query["lang"])


def _app() -> web.Application:
    app = web.Application()
    app[POSTED] = []
    app.router.add_get("/page/{name}", show)
    app.router.add_get("/wap-type", show_wap_type)
    app.router.add_post("/submit", submit)
    return app


Serve = Callable[[web.Application], Awaitable[TestServer]]


@pytest.fixture
async def server(aiohttp_server: Serve) -> TestServer:
    return await aiohttp_server(_app())


def _url(server: TestServer, name: str, language: str) -> str:
    return str(server.make_url(f"/page/{name}").with_query(lang=language))


def _posted(server: TestServer) -> list[MultiDict[str]]:
    return server.app[POSTED] if server.app is not None else []


async def _shown_text(page: Page) -> str:
    text = await page.evaluate("document.body.innerText")
    assert isinstance(text, str)
    return text.replace(ZERO_WIDTH_SPACE, "")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_page_fits_128_pixels_as_xhtml(
    browser_page: Page, server: TestServer, language: str
) -> None:
    wide = {}
    for name in PAGES:
        response = await browser_page.goto(_url(server, name, language))
        assert response is not None
        assert response.ok
        kind = await browser_page.evaluate(
            "[document.contentType, document.createElement('p').tagName,"
            " document.documentElement.clientWidth]"
        )
        # Laid out as XHTML (an XML document: tag names keep their case), in 128 pixels.
        assert kind == ["application/xhtml+xml", "p", 128], name
        overflow = await horizontal_overflow_px(browser_page)
        if overflow:
            wide[name] = overflow
    assert wide == {}, f"pages wider than 128 pixels, by how much: {wide}"
    await browser_page.goto(_url(server, "long-number", language))
    assert LONG_NUMBER in await _shown_text(browser_page)  # the breaks are invisible


@pytest.mark.parametrize(("language", "label"), [("zh-CN", "2. 取消"), ("en", "2. Cancel")])
async def test_a_radio_choice_is_posted_with_the_token(
    browser_page: Page, server: TestServer, language: str, label: str
) -> None:
    await browser_page.goto(_url(server, "confirm", language))
    submit = CATALOGUE.text(language, Message("wap.submit"))
    # By role: Playwright's get_by_label does not find labels in an XML (XHTML) document.
    await browser_page.get_by_role("radio", name=label).check()
    async with browser_page.expect_navigation():
        await browser_page.get_by_role("button", name=submit).click()
    assert _posted(server) == [MultiDict(token=TOKEN, session=SESSION, input="2")]


async def test_nothing_is_chosen_for_the_user(browser_page: Page, server: TestServer) -> None:
    await browser_page.goto(_url(server, "confirm", "en"))
    async with browser_page.expect_navigation():
        await browser_page.get_by_role("button", name="OK").click()
    assert _posted(server) == [MultiDict(token=TOKEN, session=SESSION)]  # no `input` at all


async def test_a_typed_pin_is_posted_and_kept_to_its_length(
    browser_page: Page, server: TestServer
) -> None:
    await browser_page.goto(_url(server, "pin", "en"))
    field = browser_page.locator("input[name=input]")
    assert await field.get_attribute("type") == "password"
    await field.press_sequentially("1234567")  # one more than the PIN's six
    async with browser_page.expect_navigation():
        await field.press("Enter")
    assert _posted(server) == [MultiDict(token=TOKEN, session=SESSION, input="123456")]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_hostile_text_shown_or_typed_stays_text(
    browser_page: Page, server: TestServer, language: str
) -> None:
    await browser_page.goto(_url(server, "hostile", language))
    shown = await _shown_text(browser_page)
    assert shown.count(HOSTILE) == 2  # the notice and the prompt, character for character
    typed = "<script>__pwned=3</script>"
    field = browser_page.locator("input[name=input]")
    await field.fill(typed)
    async with browser_page.expect_navigation():
        await field.press("Enter")
    assert _posted(server)[-1]["input"] == typed
    assert typed in await _shown_text(browser_page)  # the answer page shows it back
    elements = await browser_page.evaluate(
        "[typeof window.__pwned, document.querySelectorAll('script, img').length]"
    )
    assert elements == ["undefined", 0]
    await browser_page.go_back()
    assert await browser_page.evaluate("typeof window.__pwned") == "undefined"


async def test_chromium_downloads_the_wap_media_type_so_the_channel_must_negotiate(
    browser_page: Page, server: TestServer
) -> None:
    """`application/vnd.wap.xhtml+xml` is what WAP 2.0 browsers ask for; Chromium neither
    asks for it nor renders it: it starts a download. Its `Accept` names
    `application/xhtml+xml`, the type the other tests serve."""
    with pytest.raises(PlaywrightError, match="Download is starting"):
        await browser_page.goto(str(server.make_url("/wap-type")))
    (request,) = _posted(server)
    accept = request["accept"]
    assert "application/xhtml+xml" in accept
    assert "vnd.wap" not in accept
