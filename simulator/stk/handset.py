"""A handset model for the SIM menu: decodes the SIM's proactive commands into plain screens
the terminal UI draws, takes the user's keys, and answers with TERMINAL RESPONSE bytes.

Screens (frozen values): `MenuScreen` (the SIM's root menu, SET UP MENU), `ListScreen` (SELECT
ITEM), `InputScreen` (GET INPUT, with its length and digit rules, hidden entry shown masked,
and the refusal `notice` after a bad entry), `TextScreen` (DISPLAY TEXT, acknowledged with
`ok`). Listeners in `on_change` are called after every change of screen. Actions are
coroutines because the SEND SHORT MESSAGE the SIM may issue next is handed to the injected
`send_sms(destination, text)`; after it the phone is back on the menu.

Like a real phone, the handset refuses an entry the command does not allow (a letter in a
digits-only field, too few or too many characters) without bothering the SIM: the screen stays,
with a notice in the SIM's language (zh-CN or en).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Final

from channels.stk.commands import (
    BACKWARD_MOVE,
    OK,
    TERMINATED_BY_USER,
    CommandDetails,
    DisplayText,
    GetInput,
    MenuSelection,
    SelectItem,
    SendShortMessage,
    SetUpMenu,
    TerminalResponse,
    decode_command,
    details_of,
    encode_menu_selection,
    encode_terminal_response,
)
from channels.stk.text import gsm_or_none
from simulator.stk.card import DIGIT_KEYS, SimCard

SendSms = Callable[[str, str], Awaitable[None]]
MASK: Final = "*"
NOTICES: Final = {
    "zh-CN": {
        "digits": "只能输入数字",
        "alphabet": "含有不能输入的字符",
        "short": "请至少输入{n}位",
        "long": "最多只能输入{n}位",
        "choice": "没有这一项",
    },
    "en": {
        "digits": "Digits only",
        "alphabet": "Character not allowed",
        "short": "Enter at least {n} characters",
        "long": "At most {n} characters",
        "choice": "No such item",
    },
}


class HandsetError(Exception):
    """An action the current screen does not offer (the caller's fault)."""


@dataclass(frozen=True, slots=True)
class MenuScreen:
    title: str
    items: tuple[str, ...]
    notice: str | None = None


@dataclass(frozen=True, slots=True)
class ListScreen:
    title: str
    items: tuple[str, ...]
    notice: str | None = None


@dataclass(frozen=True, slots=True)
class InputScreen:
    text: str
    min_length: int
    max_length: int
    digits_only: bool
    hidden: bool
    notice: str | None = None
    ucs2: bool = False  # any text may be typed, not only the SMS alphabet

    def echo(self, typed: str) -> str:
        """What the display shows while `typed` is being keyed: masked when hidden."""
        return MASK * len(typed) if self.hidden else typed


@dataclass(frozen=True, slots=True)
class TextScreen:
    text: str


Screen = MenuScreen | ListScreen | InputScreen | TextScreen


@dataclass(frozen=True, slots=True)
class SentSms:
    destination: str
    text: str


class Handset:
    """A phone with the SIM inserted: `screen` is what it shows now."""

    def __init__(self, sim: SimCard, send_sms: SendSms, language: str | None = None) -> None:
        self.sim = sim
        self._send_sms = send_sms
        self.language = language if language in NOTICES else sim.profile.language
        if self.language not in NOTICES:
            self.language = "zh-CN"
        menu = decode_command(sim.set_up_menu())
        assert isinstance(menu, SetUpMenu), "the program starts with SET UP MENU"
        self._menu = MenuScreen(menu.title, menu.items)
        self.on_change: list[Callable[[], None]] = []  # called after every screen change
        self._screen: Screen = self._menu
        self.sent: list[SentSms] = []
        self._pending: CommandDetails | None = None

    @property
    def screen(self) -> Screen:
        """What the phone shows now."""
        return self._screen

    @screen.setter
    def screen(self, screen: Screen) -> None:
        self._screen = screen
        for listener in self.on_change:
            listener()

    def _notice(self, key: str, n: int = 0) -> str:
        return NOTICES[self.language][key].format(n=n)

    async def select(self, item: int) -> Screen:
        """Choose item `item` (from 1) on the menu or a list."""
        screen = self.screen
        if not isinstance(screen, MenuScreen | ListScreen):
            raise HandsetError(f"nothing to select on a {type(screen).__name__}")
        if not 0 < item <= len(screen.items):
            self.screen = replace(screen, notice=self._notice("choice"))
            return self.screen
        if isinstance(screen, MenuScreen):
            return await self._show(self.sim.envelope(encode_menu_selection(MenuSelection(item))))
        return await self._respond(TerminalResponse(self._details(), OK, item=item))

    async def enter(self, typed: str) -> Screen:
        """Send what was typed on an input screen, if the command allows it."""
        screen = self.screen
        if not isinstance(screen, InputScreen):
            raise HandsetError(f"no input on a {type(screen).__name__}")
        refusal = self._refusal(screen, typed)
        if refusal is not None:
            self.screen = replace(screen, notice=refusal)
            return self.screen
        return await self._respond(TerminalResponse(self._details(), OK, text=typed))

    def _refusal(self, screen: InputScreen, typed: str) -> str | None:
        if screen.digits_only and not set(typed) <= DIGIT_KEYS:
            return self._notice("digits")
        if not screen.digits_only and not screen.ucs2 and gsm_or_none(typed) is None:
            return self._notice("alphabet")
        if len(typed) < screen.min_length:
            return self._notice("short", screen.min_length)
        if len(typed) > screen.max_length:
            return self._notice("long", screen.max_length)
        return None

    async def ok(self) -> Screen:
        """Acknowledge a text screen."""
        if not isinstance(self.screen, TextScreen):
            raise HandsetError(f"no text to acknowledge on a {type(self.screen).__name__}")
        return await self._respond(TerminalResponse(self._details(), OK))

    async def back(self) -> Screen:
        """The back key: the previous screen (from the first, the menu)."""
        if self._pending is None:
            return self.screen
        return await self._respond(TerminalResponse(self._details(), BACKWARD_MOVE))

    async def cancel(self) -> Screen:
        """The end key: the session ends, nothing is sent."""
        if self._pending is None:
            return self.screen
        return await self._respond(TerminalResponse(self._details(), TERMINATED_BY_USER))

    def _details(self) -> CommandDetails:
        assert self._pending is not None, "a screen from the SIM has pending details"
        return self._pending

    async def _respond(self, response: TerminalResponse) -> Screen:
        return await self._show(self.sim.terminal_response(encode_terminal_response(response)))

    async def _show(self, data: bytes | None) -> Screen:
        while data is not None:
            command = decode_command(data)
            self._pending = details_of(command)
            match command:
                case SelectItem():
                    self.screen = ListScreen(command.title, command.items)
                    return self.screen
                case GetInput():
                    self.screen = InputScreen(
                        command.text, command.min_length, command.max_length,
                        command.digits_only, command.hidden, ucs2=command.ucs2,
                    )  # fmt: skip
                    return self.screen
                case DisplayText():
                    self.screen = TextScreen(command.text)
                    return self.screen
                case SendShortMessage():
                    sms = SentSms(command.tpdu.destination, command.tpdu.text)
                    try:
                        await self._send_sms(sms.destination, sms.text)
                    except BaseException:
                        self._pending = None
                        self.sim.terminal_response(
                            encode_terminal_response(
                                TerminalResponse(details_of(command), TERMINATED_BY_USER)
                            )
                        )
                        self.screen = self._menu
                        raise
                    self.sent.append(sms)
                    ok = TerminalResponse(details_of(command), OK)
                    data = self.sim.terminal_response(encode_terminal_response(ok))
                case SetUpMenu():
                    raise HandsetError("SET UP MENU in the middle of a session")
        self._pending = None
        self.screen = self._menu
        return self.screen
