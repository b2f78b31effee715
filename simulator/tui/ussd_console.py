"""The USSD gateway console (F12): every callback the gateway emulator makes to the platform,
with what the handset typed (PINs masked), the HTTP status, the page that came back and how
long it took, or why no page came. USSD over SMPP shows in the SMSC console instead."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, RichLog

from simulator.phones import national
from simulator.tui.consoles import EventLog, log_lines_max, refresh_s
from simulator.ussd_gateway.events import CallbackFailed, Event, EventBus

page_shown_max: Final = 60  # characters of a page on its log line


def describe_callback(event: Event) -> str:
    """One log line for a callback (the console's `EventLog` masks the PINs)."""
    who = f"{event.session_id.rsplit('-', 1)[-1]} {national(event.msisdn)}"
    sent = f" {event.sent}" if event.sent else ""
    if isinstance(event, CallbackFailed):
        return f"#{who} {event.operation}{sent} → failed: {event.error}"
    page = event.page.replace("\n", " ⏎ ")
    if len(page) > page_shown_max:
        page = page[: page_shown_max - 1] + "…"
    verb = "END" if event.end else "CON"
    return f"#{who} {event.operation}{sent} → {event.status} {verb} {page} ({event.ms:.0f} ms)"


class UssdConsole(Vertical, can_focus=True):
    """The USSD gateway emulator's callbacks to the platform."""

    def __init__(
        self, events: EventBus | None, clock: Callable[[], datetime], *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        # None: USSD goes over SMPP here (its pages are in the SMSC console)
        self.log_lines = None if events is None else EventLog(events, describe_callback, clock)

    def compose(self) -> ComposeResult:
        yield Label(id="ussd-status")
        yield RichLog(max_lines=log_lines_max, wrap=True, min_width=40, id="ussd-log")

    def on_mount(self) -> None:
        status = self.query_one("#ussd-status", Label)
        if self.log_lines is None:
            status.update("USSD goes over SMPP here: its pages are in the SMSC console (F3)")
            return
        status.update("callbacks to the platform: session, input (PINs masked) → page")
        self.log_lines.start()
        self.set_interval(refresh_s, self.refresh_log)

    def on_unmount(self) -> None:
        if self.log_lines is not None:
            self.log_lines.stop()

    def refresh_log(self) -> None:
        if self.log_lines is not None:
            self.log_lines.flush(self.query_one("#ussd-log", RichLog))


__all__ = ["UssdConsole", "describe_callback"]
