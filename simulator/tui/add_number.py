"""The add-a-number dialog (`F10` on the phone): any handset the SMSC can reach, by number.

What it takes is what a person would type for a phone: an 11-digit mobile number, with or
without `+86` and spaces, or a longer international number. The dialog refuses anything
else in place, so a typo never becomes a phone in the switcher.
"""

from __future__ import annotations

import re
from typing import ClassVar, Final

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

_NUMBER: Final = re.compile(r"\+?[0-9]{5,15}")


def valid_number(text: str) -> str | None:
    """`text` without spaces when it is a phone number, else None."""
    compact = text.replace(" ", "").replace("-", "")
    return compact if _NUMBER.fullmatch(compact) else None


class AddNumberScreen(ModalScreen[str | None]):
    """Answers the number typed (spaces removed), or None when closed with Esc."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="add-number"):
            yield Label("Add a phone: its number, then Enter (Esc closes)")
            yield Input(placeholder="e.g. 13900000005", compact=True, id="new-number")
            yield Label("", id="add-number-error")

    @on(Input.Submitted, "#new-number")
    def _submitted(self, event: Input.Submitted) -> None:
        number = valid_number(event.value)
        if number is None:
            error = "not a phone number: 5 to 15 digits, + and spaces allowed"
            self.query_one("#add-number-error", Label).update(error)
            return
        self.dismiss(number)

    def action_close(self) -> None:
        self.dismiss(None)


__all__ = ["AddNumberScreen", "valid_number"]
