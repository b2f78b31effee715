"""A handset's WAP browser, as its phone holds it: the browser model behind the world's WAP
gateway, the screen it shows and what went wrong, for the terminal UI and scripted sessions.

    wap = WapPhone("13800000003", world.wap, changed)
    await wap.open()                 # the service's home page through the handset's bearer
    await wap.answer("1")            # choose option 1 (or type into the one field) and submit
    await wap.follow("重新开始")      # a link by its label (an end page's "start again")

One `WapBrowser` per phone, made on first use and made again when the flavour changes (a WML
1.x handset and a WAP 2.0 one are different browsers: another `Accept`, another session at
the platform). The handset is attached to the gateway on first use, as a phone brings up its
data bearer. Enrichment is the gateway's switch, not the phone's: an operator's gateway adds
the number for every subscriber or for none, and the console (and the next page) shows it.

What the user types is checked by the browser as a keypad would: a refused key or choice
(`EntryRefused`) sends nothing and is kept in `refused` for the screen to show; the page stays.
A page the browser cannot show (`PageError`) or a network failure leaves the last page and
sets `status` to "failed" with the reason in `error`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final, Literal

import aiohttp

from simulator.wap_browser import (
    Choice,
    Entry,
    EntryRefused,
    Flavour,
    Link,
    PageError,
    Screen,
    Text,
    WapBrowser,
)
from simulator.wap_gateway import WapGateway

WapStatus = Literal["idle", "loading", "shown", "failed"]
FLAVOURS: Final[tuple[Flavour, ...]] = ("xhtml", "wml")


@dataclass
class WapState:
    """What the phone's browser shows: the page as display lines, and how it got there."""

    status: WapStatus = "idle"
    lines: list[str] = field(default_factory=list)  # the 128-pixel screen, line by line
    page: str = ""  # the page's text unwrapped (title, text, options, links): what scripts read
    http_status: int | None = None
    error: str = ""  # why the last request failed
    refused: str = ""  # why the last key, choice or submit was refused (nothing was sent)
    has_form: bool = False
    links: tuple[str, ...] = ()
    secret_entry: bool = False  # the page's one text field is a password: masked while typed


def page_text(screen: Screen) -> str:
    """The page as a person reads it, one block a line, without wrapping: the title, the text,
    every option of a choice and every link's label."""
    lines = [screen.title] if screen.title else []
    for block in screen.blocks:
        if isinstance(block, Choice):
            numbered = screen.flavour == "wml"
            lines.extend(
                f"{n}. {option.label}" if numbered else option.label
                for n, option in enumerate(block.options, start=1)
            )
        elif isinstance(block, Link):
            lines.append(block.label)
        elif isinstance(block, Text):
            lines.append(block.text)
    return "\n".join(lines)


class WapPhone:
    """The WAP side of one handset (`simulator.phones.Phone.wap`)."""

    def __init__(
        self, msisdn: str, gateway: WapGateway | None, changed: Callable[[], None]
    ) -> None:
        self.msisdn = msisdn
        self.gateway = gateway
        self.flavour: Flavour = "xhtml"
        self.state = WapState()
        self._changed = changed
        self._browser: WapBrowser | None = None

    @property
    def browser(self) -> WapBrowser | None:
        return self._browser

    def set_flavour(self, flavour: Flavour) -> None:
        """WML or XHTML-MP from the next page on (a different browser: the page shown stays
        until then)."""
        if flavour not in FLAVOURS:
            raise ValueError(f"a WAP browser is 'wml' or 'xhtml', not {flavour!r}")
        self.flavour = flavour
        self._changed()

    def toggle_flavour(self) -> Flavour:
        self.set_flavour("wml" if self.flavour == "xhtml" else "xhtml")
        return self.flavour

    async def open(self, flavour: Flavour | None = None) -> None:
        """The service's home page through this handset's bearer (attached when first used)."""
        if flavour is not None:
            self.flavour = flavour
        gateway = self.gateway
        if gateway is None:
            self._failed("no WAP gateway in this world")
            return
        await self._request(lambda browser: self._open_home(gateway, browser), fresh=True)

    async def answer(self, text: str) -> None:
        """Choose option `text` or type `text` into the page's one field, then submit."""
        browser = self._browser
        if browser is None or browser.screen is None:
            self._refuse("no page is shown: open the WAP home page first")
            return
        if browser.screen.form is None:
            links = ", ".join(repr(link.label) for link in browser.screen.links) or "none"
            self._refuse(f"the page has no form to answer; its links: {links}")
            return
        try:
            field = browser.screen.field()
            if isinstance(field, Choice):
                browser.choose(text)
            else:
                browser.fill(text)
            request = browser.submission()
        except EntryRefused as exc:
            self._refuse(str(exc))
            return
        except PageError as exc:  # the page's own form cannot be sent (a bad `$` in WML)
            self._failed(str(exc))
            return
        await self._request(lambda b: b.send(request))

    def keys(self, value: str) -> bool:
        """What the entry line holds now, checked by the page's one text field as a keypad
        would (its format mask, its length): False, with `refused` saying why, when the last
        key is refused. Nothing is checked on a page without exactly one text field."""
        browser = self._browser
        if browser is None or browser.screen is None or self.state.status != "shown":
            return True
        entries = [f for f in browser.screen.inputs if not isinstance(f, Choice)]
        if len(browser.screen.inputs) != 1 or not entries:
            return True
        try:
            browser.fill(value)
        except EntryRefused as exc:
            self._refuse(str(exc))
            return False
        self.state.refused = ""
        self.state.lines = browser.lines()
        self._changed()
        return True

    def leave(self) -> None:
        """The red key: the browser shows nothing (the platform's session simply times out)."""
        self.state = WapState()
        self._changed()

    async def follow(self, label: str) -> None:
        """Follow the link labelled `label`."""
        browser = self._browser
        if browser is None or browser.screen is None:
            self._refuse("no page is shown: open the WAP home page first")
            return
        try:
            request = browser.link_submission(label)
        except EntryRefused as exc:
            self._refuse(str(exc))
            return
        except PageError as exc:  # the link cannot be followed (a bad `$` in a WML href)
            self._failed(str(exc))
            return
        await self._request(lambda b: b.send(request))

    async def _open_home(self, gateway: WapGateway, browser: WapBrowser) -> Screen:
        bearer = await gateway.attach(self.msisdn)
        return await browser.open(bearer.home)

    async def _request(
        self, work: Callable[[WapBrowser], Awaitable[Screen]], *, fresh: bool = False
    ) -> None:
        browser = self._browser
        if browser is None or (fresh and browser.flavour != self.flavour):
            if browser is not None:
                await browser.close()
            browser = self._browser = WapBrowser(self.flavour)
        self.state.status, self.state.refused, self.state.error = "loading", "", ""
        self._changed()
        try:
            await work(browser)
        except (PageError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            self.state.http_status = browser.status
            self._failed(str(exc) or type(exc).__name__)
            return
        self._show(browser)

    def _show(self, browser: WapBrowser) -> None:
        screen = browser.screen
        assert screen is not None, "a request that succeeded shows a page"
        state = self.state
        state.status, state.http_status = "shown", browser.status
        state.lines = browser.lines()
        state.page = page_text(screen)
        state.has_form = screen.form is not None
        state.links = tuple(link.label for link in screen.links)
        entries = [f for f in screen.inputs if isinstance(f, Entry)]
        state.secret_entry = len(entries) == 1 and entries[0].password
        self._changed()

    def _refuse(self, why: str) -> None:
        self.state.refused = why
        self._changed()

    def _failed(self, why: str) -> None:
        self.state.status, self.state.error = "failed", why
        self._changed()

    async def close(self) -> None:
        if self._browser is not None:
            await self._browser.close()
            self._browser = None


__all__ = ["FLAVOURS", "WapPhone", "WapState", "WapStatus", "page_text"]
