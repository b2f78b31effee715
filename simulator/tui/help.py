"""The help screen (`F1` or `?`): every key of the simulator on one page."""

from __future__ import annotations

from typing import ClassVar, Final

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP_TEXT: Final = """\
[b]aircharge terminal simulator[/b]

[b]Anywhere[/b]
  F1 or ?   this help           Ctrl+Q   quit (stops the demo)
  F2 phone  F3 SMSC  F4 BOSS  F5 ledger  F11 bank  F12 USSD gateway
  Ctrl+G WAP gateway

[b]Phone[/b] (type into the entry line, or click the keypad)
  F6 SMS    Enter sends the text to the service number
  F7 USSD   Enter dials *123# (or what you typed), then answers
  F8 IVR    Enter calls the service number; in a call every key
            is a tone at once
  Ctrl+B    WAP: Enter opens the home page, then answers (a
            number chooses); on an end page Enter follows the link
  Ctrl+T    STK: the service SIM's menu; Enter chooses (number
            or name), sends the entry, OKs a text; Esc (or Del
            on an empty line) back a screen
  F9        end the USSD session / hang up / leave the WAP page /
            end the SIM session
  Ctrl+N    next number (or pick one in the list at the top)
  F10       add a number       Ctrl+L / Ctrl+O  the next call's
            language (zh, en) / caller ID (shown, withheld);
            in WAP: WML or XHTML-MP / the gateway's number header

[b]SMSC console[/b]   t throttle / v vendor status on half the submits
               s slow responses · a lose MO acks (the MO comes
               again) · d drop the SMPP links · 0 no faults
[b]BOSS console[/b]   l latency · o time-outs · e errors (503) · p lost
               answers (applied; the resolver settles) · 0 none
[b]Ledger console[/b] r reload now (it reloads every 2 s)
[b]Bank console[/b]   n new deposit · u duplicate notices · w delay them
[b]WAP gateway[/b]    e number header on/off (off: the page asks for
               the number, and an agent's PIN)

Demo: merchant 13800000003 PIN 333333; subscribers 139000000NN
SMS: CZ 13900000001 50 333333   USSD: *123# 1 …   IVR: 1 …
Esc closes this help."""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("f1", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(HELP_TEXT)

    def action_close(self) -> None:
        self.dismiss(None)


__all__ = ["HELP_TEXT", "HelpScreen"]
