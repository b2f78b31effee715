"""`SimulatorApp`: the handsets and the consoles of the carrier elements, in one terminal.

    app = SimulatorApp(world)        # a `World` built by the composition root
    await app.run_async()            # in the event loop the emulators run in

It reaches the platform only through the world's emulators and its `/api/v1` client.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, TabbedContent, TabPane

from simulator.boss import SHANGHAI
from simulator.phones import Phones
from simulator.tui.bank_console import BankConsole
from simulator.tui.consoles import BossConsole, LedgerConsole, SmscConsole
from simulator.tui.help import HelpScreen
from simulator.tui.phone_view import PhoneView
from simulator.tui.ussd_console import UssdConsole
from simulator.tui.wap_console import WapConsole
from simulator.world import World

TABS = {"phone": "phone-view", "smsc": "smsc-console", "boss": "boss-console",
        "ledger": "ledger-console", "bank": "bank-console", "ussd": "ussd-console",
        "wap": "wap-console"}  # fmt: skip


def shanghai_now() -> datetime:
    return datetime.now(SHANGHAI)


class SimulatorApp(App[None]):
    CSS_PATH = "simulator.tcss"
    TITLE = "aircharge simulator"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("f2", "show_tab('phone')", "Phone", show=False),
        Binding("f3", "show_tab('smsc')", "SMSC", show=False),
        Binding("f4", "show_tab('boss')", "BOSS", show=False),
        Binding("f5", "show_tab('ledger')", "Ledger", show=False),
        Binding("f11", "show_tab('bank')", "Bank", show=False),
        Binding("f12", "show_tab('ussd')", "USSD gateway", show=False),
        Binding("ctrl+g", "show_tab('wap')", "WAP gateway", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, world: World, *, clock: Callable[[], datetime] = shanghai_now) -> None:
        super().__init__()
        self.world = world
        self.clock = clock
        self.phones = Phones(world, clock)

    def compose(self) -> ComposeResult:
        with TabbedContent(initial="phone"):
            with TabPane("Phone F2", id="phone"):
                yield PhoneView(self.phones, id="phone-view")
            with TabPane("SMSC F3", id="smsc"):
                yield SmscConsole(self.world.smsc, self.clock, id="smsc-console")
            with TabPane("BOSS F4", id="boss"):
                yield BossConsole(self.world.boss, self.world.boss_faults, id="boss-console")
            with TabPane("Ledger F5", id="ledger"):
                yield LedgerConsole(self.world.api, self.world.agents, id="ledger-console")
            with TabPane("Bank F11", id="bank"):
                yield BankConsole(self.world.bank, self.world.bank_notifier, id="bank-console")
            with TabPane("USSD F12", id="ussd"):
                yield UssdConsole(self.world.ussd_events, self.clock, id="ussd-console")
            with TabPane("WAP ^G", id="wap"):
                yield WapConsole(self.world.wap, self.clock, id="wap-console")
        yield Footer()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self._focus_tab(tab)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id is not None:
            self._focus_tab(event.pane.id)

    def _focus_tab(self, tab: str) -> None:
        if tab == "phone":
            self.query_one("#entry").focus()
        else:
            self.query_one(f"#{TABS[tab]}").focus()

    @property
    def phone_view(self) -> PhoneView:
        return self.query_one(PhoneView)

    async def on_unmount(self) -> None:
        await self.phones.close()


__all__ = ["SimulatorApp", "shanghai_now"]
