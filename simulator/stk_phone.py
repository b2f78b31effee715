"""A phone's SIM Toolkit side: the service SIM's menu on the handset, as `phone.stk`.

A phone whose number has a SIM profile in the world's `SimStore` holds an emulated card
(`simulator.stk.SimCard`) running the agent menu program, and the handset model
(`simulator.stk.Handset`) that shows its screens and answers it with terminal responses.
When the card issues SEND SHORT MESSAGE, the sealed `STK1 …` text leaves as the phone's own
SMS does (`Phone.send_sms`): an MO from this number through the SMSC emulator, shown in the
phone's SMS conversation with its delivery state, so the platform's reply lands there too.
The handset goes back to the menu once the SMSC has the message, as a phone does on the
network's acknowledgement; `last_sent` is that message, for whoever waits for the platform.

The terminal UI and the script runner drive the same object: `open()` (the SIM menu, ending a
session in progress), `select(item)` (a number from 1, or an item's label), `enter(text)`,
`ok()`, `back()`, `cancel()`, and read `screen` / `lines()`. Actions the screen does not offer
raise `HandsetError`; an entry the command does not allow is refused by the handset with a
notice on the screen (in the SIM's language) and nothing reaches the card.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final

from simulator.stk import (
    Handset,
    HandsetError,
    InputScreen,
    ListScreen,
    MenuScreen,
    Screen,
    TextScreen,
)

if TYPE_CHECKING:
    from simulator.phones import Phone, SmsMessage

log = logging.getLogger(__name__)

label_chars_max: Final = 100  # an item label given to `select`, as the script format allows


class StkPhone:
    """The SIM menu of one phone; `handset` is None when the phone has no service SIM."""

    def __init__(self, phone: Phone) -> None:
        self._phone = phone
        self.handset: Handset | None = None
        self.error = ""  # why the last action did nothing or its SMS did not leave
        self.last_sent: SmsMessage | None = None
        self.insert()

    def insert(self) -> bool:
        """Look for this number's SIM in the world's store (again); True when it has one."""
        if self.handset is not None:
            return True
        sims = self._phone.world.sims
        card = sims.card(self._phone.address) if sims is not None else None
        if card is None:
            return False
        handset = Handset(card, self._send)
        handset.on_change.append(self._phone.changed)
        self.handset = handset
        return True

    @property
    def has_sim(self) -> bool:
        return self.handset is not None

    @property
    def screen(self) -> Screen | None:
        return None if self.handset is None else self.handset.screen

    @property
    def no_sim(self) -> str:
        """Why there is no SIM menu on this phone."""
        sims = self._phone.world.sims
        where = sims.where(self._phone.address) if sims is not None else "no SIMs in this world"
        return f"No service SIM in this phone ({where})"

    @property
    def in_session(self) -> bool:
        """A menu item is running (a screen of the SIM other than its menu)."""
        return self.handset is not None and not isinstance(self.handset.screen, MenuScreen)

    @property
    def hidden_entry(self) -> bool:
        screen = self.screen
        return isinstance(screen, InputScreen) and screen.hidden

    # -- actions -----------------------------------------------------------------------------

    async def open(self) -> Screen:
        """The SIM menu; a session in progress ends first (the end key), nothing sent."""

        async def run(handset: Handset) -> Screen:
            if self.in_session:
                await handset.cancel()
            self._phone.changed()
            return handset.screen

        return await self._run(run)

    async def select(self, choice: int | str) -> Screen:
        """Choose an item on the menu or a list: its number (from 1) or its label (the one
        equal to it, else the only one containing it, in any case)."""

        async def run(handset: Handset) -> Screen:
            screen = handset.screen
            if not isinstance(screen, MenuScreen | ListScreen):
                raise HandsetError(f"nothing to select on the SIM's {_kind(screen)}")
            number = choice if isinstance(choice, int) else _item_number(screen, choice)
            return await handset.select(number)

        return await self._run(run)

    async def enter(self, text: str) -> Screen:
        """Send what was typed on an input screen (refused with a notice if not allowed)."""

        async def run(handset: Handset) -> Screen:
            if not isinstance(handset.screen, InputScreen):
                raise HandsetError(f"no input on the SIM's {_kind(handset.screen)}")
            return await handset.enter(text)

        return await self._run(run)

    async def ok(self) -> Screen:
        """Acknowledge a text screen."""
        return await self._run(lambda handset: handset.ok())

    async def back(self) -> Screen:
        """The previous screen; from the first of an item, the menu."""
        return await self._run(lambda handset: handset.back())

    async def cancel(self) -> Screen:
        """End the session: back on the menu, nothing sent."""
        return await self._run(lambda handset: handset.cancel())

    def lines(self) -> list[str]:
        """The SIM's screen as text: what the TUI shows and `expect_stk` reads."""
        screen = self.screen
        if screen is None:
            return [self.no_sim]
        return screen_lines(screen)

    def text(self) -> str:
        return "\n".join(self.lines())

    # -- inside ------------------------------------------------------------------------------

    async def _run(self, action: Callable[[Handset], Awaitable[Screen]]) -> Screen:
        """Run `action` on the handset. What the screen does not offer (or no SIM) is kept in
        `error` and raised as `HandsetError`; an answer SMS the SMSC would not take is kept in
        `error` only (the card has ended the session, the phone shows the menu)."""
        self.error = ""
        try:
            if self.handset is None and not self.insert():
                raise HandsetError(self.no_sim)
            assert self.handset is not None
            return await action(self.handset)
        except HandsetError as exc:
            self.error = str(exc)
            self._phone.changed()
            raise
        except Exception as exc:  # the SMSC refused the MO: the phone shows why
            log.warning("the SIM's SMS from %s did not leave: %s", self._phone.msisdn, exc)
            self.error = f"the SMS did not leave: {exc or type(exc).__name__}"
            self._phone.changed()
            assert self.handset is not None
            return self.handset.screen

    async def _send(self, destination: str, text: str) -> None:
        """SEND SHORT MESSAGE: an MO from this phone, as its own SMS go."""
        self.last_sent = self._phone.send_sms(text, destination)


def screen_lines(screen: Screen) -> list[str]:
    """A SIM screen as lines: the title or text, the numbered items or the input's rules,
    and the handset's notice after a refused entry."""
    match screen:
        case MenuScreen() | ListScreen():
            lines = [screen.title, *(f"{n} {item}" for n, item in enumerate(screen.items, 1))]
            notice = screen.notice
        case InputScreen():
            lines = [screen.text, _rules(screen)]
            notice = screen.notice
        case TextScreen():
            return [screen.text]
    if notice:
        lines.append(f"✗ {notice}")
    return lines


def _rules(screen: InputScreen) -> str:
    low, high = screen.min_length, screen.max_length
    length = f"{low}" if low == high else f"{low}–{high}"
    kind = "digits" if screen.digits_only else "characters"
    return f"({length} {kind}{', hidden' if screen.hidden else ''})"


def _kind(screen: Screen) -> str:
    return {
        MenuScreen: "menu",
        ListScreen: "list",
        InputScreen: "input screen",
        TextScreen: "text screen",
    }[type(screen)]


def _item_number(screen: MenuScreen | ListScreen, choice: str) -> int:
    choice = choice.strip()
    if choice.isascii() and choice.isdigit():
        return int(choice)
    wanted = choice.casefold()
    items = [item.casefold() for item in screen.items]
    if wanted in items:
        return items.index(wanted) + 1
    containing = [n for n, item in enumerate(items, 1) if wanted and wanted in item]
    if len(containing) == 1:
        return containing[0]
    offered = " | ".join(f"{n} {item}" for n, item in enumerate(screen.items, 1))
    which = "more than one item has" if containing else "no item has"
    raise HandsetError(f"{which} {choice[:label_chars_max]!r} on the SIM's {_kind(screen)}:"
                       f" {offered}")  # fmt: skip


__all__ = ["StkPhone", "screen_lines"]
