"""Render engine events as abstract SIM Toolkit proactive commands (ETSI TS 102 223).

The values here say *what* the SIM shows and asks; `channels/stk` turns them into BER-TLV
bytes (alpha coding, DCS, the 255-byte limit of a whole command) and the exported program.

- A choice screen (an `Ask` with choices) is SELECT ITEM: title = the prompt text, items =
  the choice labels in order; item identifier n (from 1) answers as the choice "n".
- An input screen is GET INPUT with the `InputSpec`'s constraints: response lengths, digits
  only (the keypad's 0-9, '*', '#', '+') or the SMS alphabet (amounts: the decimal point), and
  hidden entry (PINs: never shown or echoed). Hidden entry exists for digit input only
  (TS 102 223, GET INPUT), so a hidden non-digit spec is refused.
- `End` is DISPLAY TEXT.
- The SIM's root menu is SET UP MENU (`render_stk_menu`): title = the prompt, items = labels.
- SEND SHORT MESSAGE carries the applet's answer to the service number (`STK1 …`); the type
  is here so the program reads as one set of commands, it is built by `channels/stk`.

A notice (the last input was refused) is put before the text on its own line. A menu holds
at most `items_per_menu_max` items, the same keypad-sized limit as the flows' menus; more is
a `ValueError`, as are lengths GET INPUT cannot express. `RunOperation` is never rendered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from dialogs.catalogue import Catalogue
from dialogs.events import Ask, End, Event, InputSpec, Message
from dialogs.flow import options_per_menu_max

items_per_menu_max: Final = 9  # items in SET UP MENU / SELECT ITEM
response_length_max: Final = 255  # characters: GET INPUT's response length is one byte
NOTICE_SEPARATOR: Final = "\n"

assert options_per_menu_max <= items_per_menu_max, "a flow menu must fit one STK menu"


def _check_items(command: str, items: tuple[str, ...]) -> None:
    if not 0 < len(items) <= items_per_menu_max:
        raise ValueError(f"{command} takes 1..{items_per_menu_max} items, got {len(items)}")


@dataclass(frozen=True, slots=True)
class SetUpMenu:
    """The SIM's root menu, installed once and shown from the phone's menu."""

    title: str
    items: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_items("SET UP MENU", self.items)


@dataclass(frozen=True, slots=True)
class SelectItem:
    """A choice screen: the user picks item n (from 1)."""

    title: str
    items: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_items("SELECT ITEM", self.items)


@dataclass(frozen=True, slots=True)
class GetInput:
    """An entry screen: `text` shown, a response of `min_length..max_length` characters."""

    text: str
    min_length: int
    max_length: int
    digits_only: bool
    hidden: bool

    def __post_init__(self) -> None:
        if not 0 <= self.min_length <= self.max_length <= response_length_max:
            raise ValueError(
                f"GET INPUT lengths must be 0 <= min <= max <= {response_length_max}: "
                f"{self.min_length}..{self.max_length}"
            )
        if self.hidden and not self.digits_only:
            raise ValueError("GET INPUT hides digit entry only")


@dataclass(frozen=True, slots=True)
class DisplayText:
    """A closing text: the session is over."""

    text: str


@dataclass(frozen=True, slots=True)
class SendShortMessage:
    """The applet's answer: `text` to the service number `destination` (digits)."""

    destination: str
    text: str

    def __post_init__(self) -> None:
        if not (self.destination.isascii() and self.destination.isdigit()):
            raise ValueError(f"an SMS destination is digits, got {self.destination!r}")


StkScreen = SelectItem | GetInput | DisplayText
ProactiveCommand = SetUpMenu | SelectItem | GetInput | DisplayText | SendShortMessage


def _text(catalogue: Catalogue, language: str, ask: Ask) -> str:
    """The prompt, after the notice on its own line when there is one."""
    prompt = catalogue.text(language, ask.prompt)
    if ask.notice is None:
        return prompt
    return catalogue.text(language, ask.notice) + NOTICE_SEPARATOR + prompt


def _labels(catalogue: Catalogue, language: str, choices: tuple[Message, ...]) -> tuple[str, ...]:
    return tuple(catalogue.text(language, choice) for choice in choices)


def _get_input(text: str, spec: InputSpec) -> GetInput:
    return GetInput(text, spec.min_length, spec.max_length, spec.digits_only, spec.hidden)


def render_stk(event: Event, catalogue: Catalogue, language: str) -> StkScreen:
    """The proactive command for one engine event: SELECT ITEM, GET INPUT or DISPLAY TEXT."""
    match event:
        case Ask(choices=()):
            return _get_input(_text(catalogue, language, event), event.input)
        case Ask():
            labels = _labels(catalogue, language, event.choices)
            return SelectItem(_text(catalogue, language, event), labels)
        case End():
            return DisplayText(catalogue.text(language, event.message))
        case _:
            raise TypeError(f"a SIM Toolkit screen cannot show {type(event).__name__}")


def render_stk_menu(ask: Ask, catalogue: Catalogue, language: str) -> SetUpMenu:
    """The SIM's root menu from a flow's first (menu) screen; a root menu has no notice."""
    if ask.notice is not None:
        raise ValueError("a SET UP MENU is installed once and cannot carry a notice")
    labels = _labels(catalogue, language, ask.choices)
    return SetUpMenu(catalogue.text(language, ask.prompt), labels)


__all__ = [
    "NOTICE_SEPARATOR",
    "DisplayText",
    "GetInput",
    "ProactiveCommand",
    "SelectItem",
    "SendShortMessage",
    "SetUpMenu",
    "StkScreen",
    "items_per_menu_max",
    "render_stk",
    "render_stk_menu",
    "response_length_max",
]
