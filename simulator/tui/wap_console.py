"""The WAP gateway console (Ctrl+G): what the gateway emulator did with each handset's
requests — bearers attached, every request carried to the platform with its status and
format, whether the number headers were added, any number header a handset sent itself and
the gateway stripped — or why no page came. `e` switches the gateway's header enrichment (the
phone's Ctrl+O in WAP mode does the same): without it the platform asks for number and PIN.
Paths come with PINs masked by the gateway; the log masks them again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, RichLog

from simulator.phones import national
from simulator.tui.consoles import EventLog, log_lines_max, refresh_s
from simulator.wap_gateway import WapGateway
from simulator.wap_gateway.events import Attached, Detached, Event, Forwarded, ForwardFailed


def _format(content_type: str) -> str:
    kind = content_type.partition(";")[0].strip().lower()
    if kind == "text/vnd.wap.wml":
        return "WML"
    if "xhtml" in kind:
        return "XHTML-MP"
    return kind or "no type"


def describe_wap(event: Event) -> str:
    """One log line for a gateway event (the console's `EventLog` masks the PINs)."""
    match event:
        case Attached(msisdn, url):
            return f"attach  {national(msisdn)} bearer {url}"
        case Detached(msisdn):
            return f"detach  {national(msisdn)}"
        case Forwarded(msisdn, method, path, status, content_type, enriched, stripped, ms):
            number = "number added" if enriched else "no number header"
            spoofed = f" · stripped {', '.join(stripped)}" if stripped else ""
            return (
                f"{national(msisdn)} {method} {path} → {status} {_format(content_type)}"
                f" · {number}{spoofed} ({ms:.0f} ms)"
            )
        case ForwardFailed(msisdn, method, path, status, error):
            return f"{national(msisdn)} {method} {path} → {status} failed: {error}"
    return repr(event)  # pragma: no cover - every event is listed above


class WapConsole(Vertical, can_focus=True):
    """The WAP gateway emulator's traffic and its enrichment switch."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("e", "enrich", "Number header")]

    def __init__(
        self, gateway: WapGateway | None, clock: Callable[[], datetime], *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.gateway = gateway  # None: no WAP in this world
        self.log_lines = None if gateway is None else EventLog(gateway.events, describe_wap, clock)

    def compose(self) -> ComposeResult:
        yield Label(id="wap-status")
        yield RichLog(max_lines=log_lines_max, wrap=True, min_width=40, id="wap-log")

    def on_mount(self) -> None:
        if self.log_lines is not None:
            self.log_lines.start()
            self.set_interval(refresh_s, self.refresh_log)
        self.refresh_log()

    def on_unmount(self) -> None:
        if self.log_lines is not None:
            self.log_lines.stop()

    def action_enrich(self) -> None:
        if self.gateway is not None:
            self.gateway.enrich = not self.gateway.enrich
            self.refresh_log()

    def refresh_log(self) -> None:
        """Write the events that came since the last tick; redraw the status line."""
        status = self.query_one("#wap-status", Label)
        if self.gateway is None or self.log_lines is None:
            status.update("no WAP gateway here: the platform's /wap/ is off")
            return
        enrich = "on" if self.gateway.enrich else "off: the page asks"
        status.update(f"in front of the platform's /wap/ · e number header {enrich}")
        self.log_lines.flush(self.query_one("#wap-log", RichLog))


__all__ = ["WapConsole", "describe_wap"]
