"""A handset's WAP browser, as a model: it fetches pages over HTTP (through the WAP gateway
emulator's bearer, or any URL), holds the screen and what the user typed, enforces the
fields' rules as a keypad would, and sends forms exactly as the browser would.

    async with WapBrowser("wml") as browser:          # or "xhtml": a WAP 2.0 browser
        await browser.open(bearer.home)
        print(browser.text())                        # the 128-pixel screen as text
        browser.choose("1")                          # a <select> option / a radio button
        await browser.submit()
        browser.type("1390000000")                   # keys; a refused one raises EntryRefused
        browser.type("x")                            # EntryRefused: format *N takes a digit
        await browser.answer("13900000001")           # fill the page's one field and submit

`flavour` decides what it asks for and can show: "wml" sends `Accept: text/vnd.wap.wml` and
shows WML decks only (a WAP 1.x browser); "xhtml" asks for XHTML-MP and shows WML too, as
WAP 2.0 browsers did. Plain text is shown as lines (a server's error message). Anything else,
or a page that is not well-formed, raises `PageError` and leaves the screen as it was.

State, as on a handset: WML variables outlive a deck (`values`) until a card with
`newcontext="true"` clears them, and an input or select takes its variable's value when
entered; an XHTML page's fields start from the page's own values. Cookies are kept per browser.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from types import TracebackType
from typing import Final

import aiohttp

from simulator.wap_browser import layout, wml
from simulator.wap_browser.errors import EntryRefused, PageError
from simulator.wap_browser.screen import (
    Choice,
    Entry,
    Flavour,
    Go,
    Hidden,
    Link,
    Screen,
    Text,
)
from simulator.wap_browser.xhtml import page_screen
from simulator.wap_browser.xmltree import parse_xml

WML_TYPE: Final = "text/vnd.wap.wml"
XHTML_TYPES: Final = ("application/vnd.wap.xhtml+xml", "application/xhtml+xml", "text/html")
ACCEPT: Final[dict[Flavour, str]] = {
    "wml": "text/vnd.wap.wml, image/vnd.wap.wbmp, text/plain;q=0.5",
    "xhtml": "application/vnd.wap.xhtml+xml, application/xhtml+xml, text/html;q=0.5,"
    " text/plain;q=0.3",
}
USER_AGENT: Final[dict[Flavour, str]] = {
    "wml": "AirChargeSim-WAP/1.3 (WML 1.3; 128x160)",
    "xhtml": "AirChargeSim-WAP/2.0 (XHTML-MP 1.2; 128x160)",
}
FORM_TYPE: Final = "application/x-www-form-urlencoded"

request_timeout_s: Final = 30.0
page_bytes_max: Final = 512 * 1024  # as the gateway: more is no handset's page
redirects_max: Final = 5


@dataclass(frozen=True, slots=True)
class Submission:
    """The request a form or a link makes, exactly as sent."""

    method: str  # GET or POST
    url: str
    body: bytes | None = None
    content_type: str | None = None
    fields: tuple[tuple[str, str], ...] = ()  # what the body (or query) carries, decoded


class WapBrowser:
    def __init__(
        self,
        flavour: Flavour = "xhtml",
        *,
        accept_language: str = "zh-CN",
        user_agent: str | None = None,
        columns: int = layout.screen_columns,
        timeout_s: float = request_timeout_s,
    ) -> None:
        if flavour not in ACCEPT:
            raise ValueError(f"flavour is 'wml' or 'xhtml', not {flavour!r}")
        self.flavour: Flavour = flavour
        self.accept_language = accept_language
        self.user_agent = user_agent or USER_AGENT[flavour]
        self.columns = columns
        self._timeout_s = timeout_s
        self._http: aiohttp.ClientSession | None = None
        self.screen: Screen | None = None
        self.status: int | None = None  # the last answer's HTTP status
        self.values: dict[str, str] = {}  # WML: the variable context; XHTML: the form's
        self._deck: wml.Deck | None = None

    async def __aenter__(self) -> WapBrowser:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    # --- what the user sees -----------------------------------------------------------------

    def _current(self) -> Screen:
        if self.screen is None:
            raise EntryRefused("no page is shown yet")
        return self.screen

    def lines(self) -> list[str]:
        """The screen as display lines (see `layout`)."""
        return layout.render(self._current(), self.values, self.columns)

    def text(self) -> str:
        return "\n".join(self.lines())

    # --- keys -------------------------------------------------------------------------------

    def _entry(self, name: str | None) -> Entry:
        field = self._current().field(name)
        if not isinstance(field, Entry):
            raise EntryRefused(f"{field.name!r} is a choice: choose one of its options")
        return field

    def type(self, keys: str, name: str | None = None) -> None:
        """Type `keys` at the end of the entry `name` (the page's only field by default);
        nothing is typed if one key is refused."""
        entry = self._entry(name)
        self._set(entry, self.values.get(entry.name, "") + keys)

    def fill(self, text: str, name: str | None = None) -> None:
        """Clear the entry and type `text`."""
        entry = self._entry(name)
        self._set(entry, text)

    def erase(self, name: str | None = None, count: int = 1) -> None:
        """The delete key, `count` times."""
        entry = self._entry(name)
        value = self.values.get(entry.name, "")
        self.values[entry.name] = value[: max(0, len(value) - count)]

    def _set(self, entry: Entry, value: str) -> None:
        if entry.max_length is not None and len(value) > entry.max_length:
            raise EntryRefused(
                f"{value[entry.max_length :]!r} refused: the field takes at most"
                f" {entry.max_length} characters"
            )
        if entry.mask is not None:
            entry.mask.check(value)
        self.values[entry.name] = value

    def choose(self, value: str, name: str | None = None) -> None:
        """Select the option whose value is `value` (`1` for the first of this service's)."""
        field = self._current().field(name)
        if not isinstance(field, Choice):
            raise EntryRefused(f"{field.name!r} is an entry: type into it")
        self.values[field.name] = field.option(value).value

    # --- requests ---------------------------------------------------------------------------

    def submission(self) -> Submission:
        """The request submitting the page's form makes now; `EntryRefused` when a field
        is not complete (a WML mask unfilled, an entry that may not be empty)."""
        screen = self._current()
        if screen.form is None:
            raise EntryRefused("the page has no form to submit")
        for field in screen.form.fields:
            if isinstance(field, Entry):
                self._check_complete(field)
        if screen.form.posts_fields:
            fields: list[tuple[str, str]] = []
            for field in screen.form.fields:
                if isinstance(field, Hidden):
                    fields.append((field.name, field.value))
                elif field.name in self.values:
                    fields.append((field.name, self.values[field.name]))
            url = _resolve(screen.url, screen.form.go.href)
            return _request(screen.form.go.method, url, fields, replace_query=True)
        return self._go_request(screen.form.go)

    def _check_complete(self, entry: Entry) -> None:
        value = self.values.get(entry.name, "")
        if not value:
            if not entry.empty_ok:
                raise EntryRefused(f"the field {entry.name!r} may not be left empty")
            return
        if entry.mask is not None:
            entry.mask.check_complete(value)

    def _go_request(self, go: Go) -> Submission:
        screen = self._current()
        if screen.flavour == "wml":
            url = wml.request_url(go, screen.url, self.values)
            return _request(go.method, url, wml.postfields(go, self.values), replace_query=False)
        return _request(go.method, _resolve(screen.url, go.href), [], replace_query=False)

    async def submit(self) -> Screen:
        """Submit the page's form; answers the next screen."""
        return await self.send(self.submission())

    async def answer(self, text: str) -> Screen:
        """What a scripted step does on this service's pages: choose the option `text` or
        type `text` into the page's one field, then submit."""
        field = self._current().field()
        if isinstance(field, Choice):
            self.choose(text)
        else:
            self.fill(text)
        return await self.submit()

    def link_submission(self, link: Link | str | int) -> Submission:
        """The request following a link makes: the link by its label, its position (0
        first) or itself."""
        screen = self._current()
        if isinstance(link, int):
            links = screen.links
            if not 0 <= link < len(links):
                raise EntryRefused(f"the page has {len(links)} links, no link {link}")
            link = links[link]
        elif isinstance(link, str):
            found = [candidate for candidate in screen.links if candidate.label == link]
            if not found:
                raise EntryRefused(f"the page has no link {link!r}")
            link = found[0]
        return self._go_request(link.go)

    async def follow(self, link: Link | str | int) -> Screen:
        """Follow a link (see `link_submission`); a `#card` of the deck shown needs no
        request."""
        return await self.send(self.link_submission(link))

    async def open(self, url: str) -> Screen:
        """Go to `url` (GET)."""
        return await self.send(Submission("GET", url))

    async def send(self, request: Submission) -> Screen:
        """Make `request` (one from `submission()`, again if need be: a replay) and show the
        answer."""
        if self._enter_card(request):
            return self._current()
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout_s),
                cookie_jar=aiohttp.CookieJar(unsafe=True),  # loopback addresses keep cookies
            )
        headers = {
            "Accept": ACCEPT[self.flavour],
            "Accept-Language": self.accept_language,
            "Accept-Charset": "utf-8",
            "User-Agent": self.user_agent,
        }
        if request.content_type is not None:
            headers["Content-Type"] = request.content_type
        async with self._http.request(
            request.method,
            request.url,
            data=request.body,
            headers=headers,
            max_redirects=redirects_max,
        ) as response:
            self.status = response.status
            body = await _read_page(response)
            content_type = response.headers.get("Content-Type", "")
            return self.load(body, content_type, str(response.url))

    def _enter_card(self, request: Submission) -> bool:
        """A GET of `#card` in the deck shown: no request, another card of it."""
        deck = self._deck
        url, _, card_id = request.url.partition("#")
        if request.method != "GET" or deck is None or not card_id or url != deck.url:
            return False
        self._arrive_at_card(deck, card_id)
        return True

    def load(self, body: bytes, content_type: str, url: str) -> Screen:
        """Show a page received by other means (tests, a saved page), as if fetched from
        `url`; raises `PageError` and keeps the screen if it cannot be shown."""
        self._show(body, content_type, url)
        return self._current()

    def _show(self, body: bytes, content_type: str, url: str) -> None:
        kind = content_type.partition(";")[0].strip().lower()
        what = f"the page at {url}"
        if kind == WML_TYPE:
            deck = wml.parse_deck(parse_xml(body, what), url)
            self._arrive_at_card(deck, url.partition("#")[2] or None)
        elif kind in XHTML_TYPES and self.flavour == "xhtml":
            screen = page_screen(parse_xml(body, what), url)
            self._deck = None
            self.values = _initial_values(screen)
            self.screen = screen
        elif kind == "text/plain":
            text = body.decode("utf-8", errors="replace")
            blocks = tuple(Text(line.strip()) for line in text.splitlines() if line.strip())
            self._deck = None
            self.screen = Screen(self.flavour, url, "", blocks)
        else:
            raise PageError(
                f"{url} answered {self.status} with {content_type or 'no content type'},"
                f" which a {self.flavour.upper()} browser cannot show"
            )

    def _arrive_at_card(self, deck: wml.Deck, card_id: str | None) -> None:
        card = deck.card(card_id)
        variables = {} if wml.new_context(card) else dict(self.values)
        screen = wml.card_screen(deck, card, variables)
        for field in screen.inputs:
            if isinstance(field, Choice) and field.default is not None:
                variables[field.name] = field.default
            elif isinstance(field, Entry):
                current = variables.get(field.name)
                if current is None or not _fits(field, current):
                    variables[field.name] = field.default
        self._deck = deck
        self.values = variables
        self.screen = screen


async def _read_page(response: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > page_bytes_max:
            raise PageError(f"{response.url}: the page is larger than {page_bytes_max} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _fits(entry: Entry, value: str) -> bool:
    try:
        if entry.mask is not None:
            entry.mask.check(value)
    except EntryRefused:
        return False
    return entry.max_length is None or len(value) <= entry.max_length


def _initial_values(screen: Screen) -> dict[str, str]:
    values: dict[str, str] = {}
    for field in screen.inputs:
        default = field.default
        if default is not None:  # an unchecked group of radio buttons sends nothing
            values[field.name] = default
    return values


def _resolve(base: str, href: str) -> str:
    return urllib.parse.urljoin(base, href)


def _request(
    method: str, url: str, fields: list[tuple[str, str]], *, replace_query: bool
) -> Submission:
    """The request carrying `fields`: a POST's form body, or a GET's query (an HTML form's
    replaces the action's query; WML's postfields are added to the href's)."""
    encoded = urllib.parse.urlencode(fields, encoding="utf-8")
    if method.lower() == "post":
        return Submission("POST", url, encoded.encode("ascii"), FORM_TYPE, tuple(fields))
    if fields:
        url = url.partition("#")[0]
        if replace_query:
            url = f"{url.partition('?')[0]}?{encoded}"
        else:
            url = f"{url}{'&' if '?' in url else '?'}{encoded}"
    return Submission("GET", url, fields=tuple(fields))


__all__ = ["ACCEPT", "FORM_TYPE", "Submission", "WapBrowser"]
