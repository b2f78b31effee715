"""The bank console (F11): the collection account, its latest transfers and whether the
platform has heard of each, and a deposit made by hand.

`n` opens a form (agent number, amount in yuan) and books the transfer at the bank emulator as
a payer at the counter would; the bank then notifies the platform, which credits the agent's
deposit (the ledger console shows it). `u` makes the bank deliver every notification twice
more (the platform must credit once), `w` holds notifications back for 10 s.
"""

from __future__ import annotations

import re
from typing import ClassVar, Final

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label

from simulator.bank import COLLECTION_ACCOUNT, BankState, Notifier, TransferRequest
from simulator.bank.faults import FaultConfig
from simulator.bank.model import Fen
from simulator.phones import national
from simulator.tui.add_number import valid_number
from simulator.tui.consoles import cycle, refresh_s, yuan

transfers_shown: Final = 50
DUPLICATES: Final = (0, 2)  # extra deliveries of each notification `u` cycles through
DELAYS_MS: Final = (0, 10_000)
COUNTER_PAYER: Final = ("柜台存款 (simulator)", "6222000000000000")  # name and account shown
_YUAN: Final = re.compile(r"([0-9]{1,7})(?:\.([0-9]{1,2}))?")


def fen_of(text: str) -> int | None:
    """`100`, `100.5`, `100.50` yuan in fen; None for anything else or zero."""
    match = _YUAN.fullmatch(text.strip().removeprefix("¥"))
    if match is None:
        return None
    fen = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    return fen or None


class DepositScreen(ModalScreen[tuple[str, int] | None]):
    """Answers (agent number, amount in fen), or None when closed with Esc."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="deposit"):
            yield Label("A deposit at the bank (Esc closes)")
            yield Input(placeholder="agent number, e.g. 13800000003", compact=True, id="agent")
            yield Input(placeholder="amount in yuan, e.g. 100", compact=True, id="amount")
            yield Label("", id="deposit-error")

    @on(Input.Submitted, "#agent")
    def _agent_entered(self) -> None:
        self.query_one("#amount", Input).focus()

    @on(Input.Submitted, "#amount")
    def _amount_entered(self) -> None:
        agent = valid_number(self.query_one("#agent", Input).value)
        fen = fen_of(self.query_one("#amount", Input).value)
        error = self.query_one("#deposit-error", Label)
        if agent is None:
            error.update("the agent's number: 5 to 15 digits")
            self.query_one("#agent", Input).focus()
        elif fen is None:
            error.update("the amount: yuan with at most two decimals, more than 0")
        else:
            self.dismiss((agent, fen))

    def action_close(self) -> None:
        self.dismiss(None)


class BankConsole(Vertical, can_focus=True):
    """The collection account's transfers and their notifications to the platform."""

    COLUMNS: Final = ("txn", "booked", "payer", "for agent", "amount", "platform told")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "deposit", "New deposit"),
        Binding("u", "duplicates", "Duplicates"),
        Binding("w", "delay", "Delay"),
    ]

    def __init__(
        self, bank: BankState, notifier: Notifier | None, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.bank = bank
        self.notifier = notifier  # None: the bank emulator is not in this process

    def compose(self) -> ComposeResult:
        yield Label(id="bank-account")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="bank-table")
        yield Label(id="bank-faults")

    def on_mount(self) -> None:
        table = self.query_one("#bank-table", DataTable)
        for column in self.COLUMNS:
            table.add_column(column, key=column)
        self.set_interval(refresh_s * 4, self.refresh_table)
        self.refresh_table()

    def refresh_table(self) -> None:
        account = f"collection account {COLLECTION_ACCOUNT}: {yuan(self.bank.balance_fen())}"
        self.query_one("#bank-account", Label).update(account)
        table: DataTable[str] = self.query_one("#bank-table", DataTable)
        table.clear()
        for transfer in self.bank.recent(transfers_shown):
            request = transfer.request
            told: str = transfer.delivery
            if transfer.delivery != "delivered" and transfer.attempts:
                told += f" ({transfer.attempts} tries, {transfer.last_status})"
            table.add_row(
                transfer.txn_id, f"{transfer.booked_at:%H:%M:%S}", request.payer_name,
                national(request.reference), yuan(request.amount_fen), told,
                key=transfer.txn_id,
            )  # fmt: skip
        self._show_faults()

    def _show_faults(self) -> None:
        label = self.query_one("#bank-faults", Label)
        if self.notifier is None:
            label.update("deposits and faults: where the bank emulator runs")
            return
        faults = self.notifier.faults
        label.update(
            f"n new deposit · u duplicate notices ×{faults.duplicate_deliveries}"
            f" · w delay {faults.delay_ms // 1000}s"
        )

    def action_deposit(self) -> None:
        if self.notifier is None:
            return

        def book(answer: tuple[str, int] | None) -> None:
            if answer is not None and self.notifier is not None:
                agent, fen = answer
                name, account = COUNTER_PAYER
                self.notifier.book(TransferRequest(name, account, agent, Fen(fen)))
                self.refresh_table()
            self.focus()

        self.app.push_screen(DepositScreen(), book)

    def _configure(self, faults: FaultConfig) -> None:
        if self.notifier is not None:
            self.notifier.faults = faults
            self._show_faults()

    def action_duplicates(self) -> None:
        if self.notifier is not None:
            faults = self.notifier.faults
            count = cycle(DUPLICATES, faults.duplicate_deliveries)
            self._configure(FaultConfig(duplicate_deliveries=count, delay_ms=faults.delay_ms))

    def action_delay(self) -> None:
        if self.notifier is not None:
            faults = self.notifier.faults
            delay = cycle(DELAYS_MS, faults.delay_ms)
            self._configure(FaultConfig(faults.duplicate_deliveries, delay_ms=delay))


__all__ = ["BankConsole", "DepositScreen", "fen_of"]
