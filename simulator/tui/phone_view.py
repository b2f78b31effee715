"""The handset on screen: number switcher, SMS / USSD / IVR / WAP / STK modes, screen, keypad.

Typing goes into the entry line (keyboard, or the keypad's buttons by mouse); Enter (or the
keypad's green key) sends the SMS, dials or answers USSD, places the call, or opens the WAP
home page and answers its pages; during a call every key typed is a DTMF tone at once. The red
key ends the USSD session, hangs up, or leaves the WAP page.

In WAP mode the screen is the handset's 128-pixel display as the browser model draws it
(`simulator.wap_browser.layout`, 18 columns) in a frame; every key typed into a text field is
checked by the field's rules as on a handset (a refused key is not taken and the refusal is
shown under the display). Ctrl+L switches the browser between XHTML-MP and WML 1.3 (as it
switches a call's language), Ctrl+O the WAP gateway's number header (as it withholds a call's
caller ID): without it the platform asks for the number, and an agent's PIN, on the page.

In STK mode the screen is the service SIM's (`phone.stk`): its menu, a list, an input with its
rules (a hidden one masked on the entry line too), a text, and the handset's notice after a
refused entry. Enter chooses the item typed (its number or label), sends the entry, or
acknowledges a text; Esc (or Del on an empty entry line) goes back a screen, the red key ends
the session. A phone without a service SIM says so.
"""

from __future__ import annotations

import contextlib
from collections.abc import Coroutine
from typing import Any, ClassVar, Final, Literal

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Button, Input, Label, Select, Static

from simulator.phones import Phone, Phones
from simulator.stk import HandsetError, InputScreen, MenuScreen, TextScreen
from simulator.tui.add_number import AddNumberScreen
from simulator.wap_browser import screen_columns

Mode = Literal["sms", "ussd", "ivr", "wap", "stk"]
MODES: Final[tuple[Mode, ...]] = ("sms", "ussd", "ivr", "wap", "stk")
WAP_ACTIONS: Final = frozenset({"wap_markup", "wap_number"})
CALL_ACTIONS: Final = frozenset({"call_language", "caller_id"})
KEYS: Final = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#")
_KEY_IDS: Final = {"*": "star", "#": "hash"}
_SMS_STATE: Final = {"sending": "…", "delivered": "✓", "retrying": "↻", "received": ""}


class Key(Button, can_focus=False):
    """A keypad button: a click leaves the focus on the entry line."""


class Keypad(Vertical):
    """0-9 * # and the green (send / call), red (end) and delete keys."""

    class Pressed(Message):
        """A keypad key was clicked: a digit, `*`, `#`, or "send", "end", "delete"."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def compose(self) -> ComposeResult:
        with Grid(id="digits"):
            for key in KEYS:
                yield Key(key, id=f"key-{_KEY_IDS.get(key, key)}", compact=True)
        with Grid(id="actions"):
            yield Key("Send", id="key-send", variant="success", compact=True)
            yield Key("End", id="key-end", variant="error", compact=True)
            yield Key("Del", id="key-delete", compact=True)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        label = str(event.button.label)
        key = {"Send": "send", "End": "end", "Del": "delete"}.get(label, label)
        self.post_message(self.Pressed(key))


class PhoneView(Horizontal):
    """One handset at a time, switched by number."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f6", "mode('sms')", "SMS"),
        Binding("f7", "mode('ussd')", "USSD"),
        Binding("f8", "mode('ivr')", "IVR"),
        Binding("ctrl+b", "mode('wap')", "WAP"),
        Binding("ctrl+t", "mode('stk')", "STK"),
        Binding("ctrl+n", "next_phone", "Next №"),
        Binding("f9", "end", "End"),
        Binding("f10", "add_number", "Add №"),
        Binding("ctrl+l", "call_language", "Call lang", show=False),
        Binding("ctrl+o", "caller_id", "Caller ID", show=False),
        # The same keys in WAP mode (see check_action). Like the call's, they are listed on
        # the mode's own screen and in the help: an 80-column footer has no room for them.
        Binding("ctrl+l", "wap_markup", "WML/XHTML", show=False),
        Binding("ctrl+o", "wap_number", "Number header", show=False),
        Binding("escape", "stk_back", "SIM back", show=False),
    ]

    mode: reactive[Mode] = reactive("sms")
    msisdn: reactive[str] = reactive("")

    def __init__(self, phones: Phones, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.phones = phones
        self.set_reactive(PhoneView.msisdn, phones.numbers[0])
        self._dtmf_sent = ""  # what of the entry line went into the call already
        self._wap_taken = ""  # what of the entry line the WAP page's text field took
        self.call_language = "zh"  # agi_language of the next call
        self.caller_id_withheld = False  # the next call sends no caller ID

    @property
    def phone(self) -> Phone:
        return self.phones[self.msisdn]

    def compose(self) -> ComposeResult:
        with Vertical(id="handset"):
            with Horizontal(id="phone-bar"):
                yield Select(
                    [(number, number) for number in self.phones.numbers],
                    value=self.msisdn,
                    allow_blank=False,
                    compact=True,
                    id="number",
                )
                for mode in MODES:
                    yield Key(mode.upper(), id=f"mode-{mode}", compact=True)
            with VerticalScroll(id="screen"):
                yield Static(id="screen-text")
            yield Label(id="phone-status")
            yield Input(placeholder="type here, Enter sends", compact=True, id="entry")
        yield Keypad(id="keypad")

    def on_mount(self) -> None:
        for phone in self._all_phones():
            phone.on_change(self._phone_changed)
        self._draw()
        self.query_one("#entry", Input).focus()

    def on_unmount(self) -> None:
        for phone in self._all_phones():
            phone.remove_listener(self._phone_changed)

    def _all_phones(self) -> list[Phone]:
        return [self.phones[number] for number in self.phones.numbers]

    # -- switching ---------------------------------------------------------------------------

    def show_number(self, msisdn: str) -> None:
        """Switch to `msisdn`'s phone, adding it when new."""
        new = msisdn not in self.phones
        phone = self.phones.add(msisdn)
        select: Select[str] = self.query_one("#number", Select)
        if new:
            phone.on_change(self._phone_changed)
            select.set_options([(number, number) for number in self.phones.numbers])
        select.value = phone.msisdn
        self.msisdn = phone.msisdn

    def action_next_phone(self) -> None:
        numbers = self.phones.numbers
        self.show_number(numbers[(numbers.index(self.msisdn) + 1) % len(numbers)])

    def action_mode(self, mode: Mode) -> None:
        self.mode = mode

    def action_add_number(self) -> None:
        def added(number: str | None) -> None:
            if number is not None:
                self.show_number(number)
            self.query_one("#entry", Input).focus()

        self.app.push_screen(AddNumberScreen(), added)

    def action_call_language(self) -> None:
        self.call_language = "en" if self.call_language == "zh" else "zh"
        self._draw()

    def action_caller_id(self) -> None:
        self.caller_id_withheld = not self.caller_id_withheld
        self._draw()

    def action_wap_markup(self) -> None:
        self.phone.toggle_wap_flavour()

    def action_wap_number(self) -> None:
        gateway = self.phones.world.wap
        if gateway is not None:
            gateway.enrich = not gateway.enrich
        self._draw()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Ctrl+L and Ctrl+O: the WAP browser's toggles in WAP mode, the next call's otherwise."""
        if action in WAP_ACTIONS:
            return self.mode == "wap"
        if action in CALL_ACTIONS:
            return self.mode != "wap"
        return True

    @on(Select.Changed, "#number")
    def _number_chosen(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.msisdn:
            self.msisdn = event.value

    @on(Button.Pressed, "#phone-bar Key")
    def _mode_clicked(self, event: Button.Pressed) -> None:
        self.mode = str(event.button.label).lower()  # type: ignore[assignment]

    def watch_mode(self) -> None:
        self._clear_entry()
        self.refresh_bindings()
        self._draw()

    def watch_msisdn(self) -> None:
        self._clear_entry()
        self._draw()

    # -- input -------------------------------------------------------------------------------

    @on(Keypad.Pressed)
    def _keypad(self, event: Keypad.Pressed) -> None:
        entry = self.query_one("#entry", Input)
        if event.key == "send":
            self._submit(entry.value)
        elif event.key == "end":
            self.action_end()
        elif event.key == "delete" and self.mode == "stk" and not entry.value:
            self.action_stk_back()
        elif event.key == "delete":
            entry.value = entry.value[:-1]
        else:
            entry.insert_text_at_cursor(event.key)
        entry.focus()

    @on(Input.Submitted, "#entry")
    def _entered(self, event: Input.Submitted) -> None:
        self._submit(event.value)

    @on(Input.Changed, "#entry")
    def _typed(self, event: Input.Changed) -> None:
        """During a call, keys go to the platform as they are typed; on a WAP page, the text
        field takes them or refuses them."""
        if self.mode == "wap":
            self._wap_typed(event.value)
            return
        if self.mode != "ivr" or not self.phone.in_call:
            return
        if event.value.startswith(self._dtmf_sent):
            self.phone.press(event.value[len(self._dtmf_sent) :])
        self._dtmf_sent = event.value

    def _wap_typed(self, value: str) -> None:
        if value == self._wap_taken:
            return
        if self.phone.wap_phone.keys(value):
            self._wap_taken = value
        else:  # the key is not taken: the entry line shows what the field holds
            self.query_one("#entry", Input).value = self._wap_taken

    def _submit(self, value: str) -> None:
        phone, value = self.phone, value.strip()
        if self.mode == "wap":
            self._wap_submit(phone, value)
            return
        if self.mode == "stk":
            self._stk_submit(phone, value)
            return
        if self.mode == "sms":
            if value:
                phone.send_sms(value)
                self._clear_entry()
        elif self.mode == "ussd":
            if phone.ussd_open:
                self.run_worker(phone.answer_ussd(value), group="ussd")
            else:
                self.run_worker(phone.dial_ussd(value or None), group="ussd")
            self._clear_entry()
        elif not phone.in_call:
            self._clear_entry()
            phone.call(value or None, self.call_language, withheld=self.caller_id_withheld)

    def _wap_submit(self, phone: Phone, value: str) -> None:
        """Enter: open the home page; answer the form; on a page without a form, follow the
        link typed (its number or label), the first one when nothing is typed."""
        state = phone.wap
        if state.status == "loading":
            return
        if state.status == "idle" or phone.wap_phone.browser is None:
            self.run_worker(phone.open_wap(), group="wap")
        elif state.has_form:
            self.run_worker(phone.wap_answer(value), group="wap")
        elif state.links:
            links = state.links
            label = (
                links[int(value) - 1]
                if value.isascii() and value.isdigit() and 0 < int(value) <= len(links)
                else None
            )
            self.run_worker(phone.wap_follow(label or value or links[0]), group="wap")
        else:
            self.run_worker(phone.open_wap(), group="wap")
        self._clear_entry()

    def _stk_submit(self, phone: Phone, value: str) -> None:
        """Enter on the SIM's screen: choose the item typed, send the entry, acknowledge."""
        stk = phone.stk
        screen = stk.screen
        if screen is None:
            stk.insert()
            self._draw()
        elif isinstance(screen, InputScreen):
            self._stk_run(stk.enter(value))
        elif isinstance(screen, TextScreen):
            self._stk_run(stk.ok())
        elif value:
            self._stk_run(stk.select(value))
        else:
            return
        self._clear_entry()

    def _stk_run(self, action: Coroutine[Any, Any, object]) -> None:
        async def run() -> None:
            with contextlib.suppress(HandsetError):  # shown on the screen (`stk.error`)
                await action

        self.run_worker(run(), group="stk")

    def action_stk_back(self) -> None:
        if self.mode == "stk" and self.phone.stk.has_sim:
            self._stk_run(self.phone.stk.back())
            self._clear_entry()

    def action_end(self) -> None:
        phone = self.phone
        if self.mode == "wap":
            phone.wap_phone.leave()
        elif self.mode == "stk":
            if phone.stk.has_sim:
                self._stk_run(phone.stk.cancel())
        elif self.mode == "ussd":
            self.run_worker(phone.end_ussd(), group="ussd")
        elif self.mode == "ivr":
            phone.hang_up()
        self._clear_entry()

    def _clear_entry(self) -> None:
        self._wap_taken = ""
        if self.is_mounted:
            self.query_one("#entry", Input).value = ""
        self._dtmf_sent = ""

    # -- drawing -----------------------------------------------------------------------------

    def _phone_changed(self, phone: Phone) -> None:
        if phone.msisdn == self.msisdn and self.is_mounted:
            if self.mode == "ivr" and not phone.in_call and self._dtmf_sent:
                self._clear_entry()
            self._draw()

    def _draw(self) -> None:
        if not self.is_mounted:
            return
        phone = self.phone
        for mode in MODES:
            self.query_one(f"#mode-{mode}").set_class(mode == self.mode, "-active")
        entry = self.query_one("#entry", Input)
        entry.password = (self.mode == "stk" and phone.stk.hidden_entry) or (
            self.mode == "wap" and phone.wap.status == "shown" and phone.wap.secret_entry
        )
        if self.mode == "ivr":
            text, status = _ivr_screen(phone, self.call_language, self.caller_id_withheld)
        elif self.mode == "wap":
            gateway = self.phones.world.wap
            text, status = _wap_screen(phone, gateway is not None and gateway.enrich)
        elif self.mode == "stk":
            text, status = _stk_screen(phone)
        else:
            text, status = (_sms_screen if self.mode == "sms" else _ussd_screen)(phone)
        self.query_one("#screen-text", Static).update(text)
        self.query_one("#phone-status", Label).update(status)
        self.query_one("#screen", VerticalScroll).scroll_end(animate=False)


def _sms_screen(phone: Phone) -> tuple[Text, str]:
    text = Text()
    for message in phone.messages:
        if text:
            text.append("\n")
        stamp = message.at.strftime("%H:%M")
        if message.outgoing:
            text.append(f"→ {message.peer} {stamp} {_SMS_STATE[message.state]}\n", "dim")
            text.append(message.text, "bold cyan")
        else:
            parts = f" ({message.parts} parts)" if message.parts > 1 else ""
            text.append(f"← {message.peer} {stamp}{parts}\n", "dim")
            text.append(message.text)
    if not text:
        text.append("No messages. Type a command, e.g. BZ for help, and press Enter.", "dim")
    return text, f"{phone.msisdn} · SMS to {phone.world.service_number}"


def _ussd_screen(phone: Phone) -> tuple[Text, str]:
    ussd = phone.ussd
    text = Text()
    for line in ussd.lines:
        if text:
            text.append("\n")
        if line.outgoing:
            text.append(f"> {line.text}", "bold cyan")
        else:
            text.append(line.text)
    if not text:
        text.append(f"Press Enter to dial {phone.world.ussd_code}.", "dim")
    status = {
        "idle": "Enter dials",
        "waiting": "waiting for the network…",
        "open": "answer, Enter sends · F9 ends",
        "ended": "session ended · Enter dials again",
        "timed out": "session timed out · Enter dials again",
        "failed": f"failed: {ussd.error}",
    }[ussd.status]
    return text, f"{phone.msisdn} · USSD · {status}"


def _ivr_screen(phone: Phone, language: str, withheld: bool) -> tuple[Text, str]:
    call = phone.call_state
    text = Text()
    caller_id = "withheld" if withheld else "shown"
    if call.status == "idle":
        text.append(f"Press Enter to call {phone.world.service_number}.", "dim")
        text.append(f"\nCtrl+L language: {language} · Ctrl+O caller ID: {caller_id}", "dim")
        return text, f"{phone.msisdn} · IVR {language} · caller ID {caller_id}"
    text.append(f"☎ {call.number}\n", "dim")
    text.append(call.heard)
    if call.keys:
        text.append(f"\nkeys: {call.keys}", "bold cyan")
    status = {
        "calling": "calling…",
        "connected": "in call: keys are tones · F9 hangs up",
        "ended": f"call ended ({call.ending}) · Enter calls again",
        "idle": "",
    }[call.status]
    return text, f"{phone.msisdn} · IVR · {status}"


def _wap_screen(phone: Phone, number_sent: bool) -> tuple[Text, str]:
    """The handset's display in a frame as wide as a 128-pixel screen, and under it what was
    refused or what failed."""
    wap, flavour = phone.wap, phone.wap_flavour.upper()
    number = "number sent" if number_sent else "no number header"
    short = "№ sent" if number_sent else "no №"
    text = Text()
    if wap.status == "idle" or not wap.lines:
        text.append("Press Enter to open the WAP home page.", "dim")
        text.append(f"\nCtrl+L browser: {flavour} · Ctrl+O gateway: {number}", "dim")
    else:
        width = screen_columns
        text.append("┌" + "─" * width + "┐\n", "dim")
        for line in wap.lines:
            text.append("│", "dim")
            text.append(line + " " * max(0, width - cell_len(line)))
            text.append("│\n", "dim")
        text.append("└" + "─" * width + "┘", "dim")
    if wap.refused:
        text.append(f"\n✗ {wap.refused}", "bold red")
    if wap.status == "failed":
        text.append(f"\nfailed: {wap.error}", "bold red")
    status = {
        "idle": "Enter opens /wap/",
        "loading": "loading…",
        "shown": "Enter answers" if wap.has_form else "Enter follows link",
        "failed": "Enter opens /wap/",
    }[wap.status]
    http = f" ({wap.http_status})" if wap.http_status not in (None, 200) else ""
    return text, f"{phone.msisdn} · {flavour} · {short} · {status}{http}"


def _stk_screen(phone: Phone) -> tuple[Text, str]:
    """The SIM's screen: the title bold, items and rules as they are, the notice and any
    error in red; a phone without a service SIM says so."""
    stk = phone.stk
    screen = stk.screen
    text = Text()
    if screen is None:
        text.append(stk.no_sim, "dim")
        return text, f"{phone.msisdn} · STK · no service SIM"
    for index, line in enumerate(stk.lines()):
        if index:
            text.append("\n")
        if line.startswith("✗ "):
            style = "bold red"
        elif index == 0:
            style = "bold"
        else:  # the items as they are; an input's rules dim
            style = "dim" if isinstance(screen, InputScreen) else ""
        text.append(line, style)
    if stk.error:
        text.append(f"\n✗ {stk.error}", "bold red")
    status = {
        MenuScreen: "Enter chooses (number or name)",
        InputScreen: "Enter sends · Esc back",
        TextScreen: "Enter OK · F9 ends",
    }.get(type(screen), "Enter chooses · Esc back")
    return text, f"{phone.msisdn} · SIM menu · {status}"


__all__ = ["Keypad", "PhoneView"]
