"""Consoles of the carrier elements: the SMSC's traffic, BOSS's subscribers, the ledger.

- `SmscConsole`: the binds, every PDU exchange the SMSC reports (MO, acknowledgements, MT,
  receipts, USSD pages, injected faults) with PINs masked; `t` throttles half the platform's
  submit_sm, `d` drops the SMPP links (the platform binds again).
- `BossConsole`: every subscriber's balance (prepaid) or bill due (postpaid), read from the
  BOSS emulator's state.
- `LedgerConsole`: the demo agents' deposit and commission balances and the operations whose
  outcome is pending or in manual review, read over the platform's `/api/v1`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar, Final

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Label, RichLog

from simulator.boss import BossState
from simulator.masking import mask_pins
from simulator.phones import national
from simulator.smsc import (
    Bound,
    FaultInjected,
    Faults,
    MoAcked,
    MoRedelivered,
    MoSent,
    MtReceived,
    ReceiptSent,
    Smsc,
    Subscription,
    Unbound,
    UssdAborted,
    UssdEnded,
    UssdPageShown,
)
from simulator.smsc import Event as SmscEvent
from simulator.world import ApiClient

refresh_s: Final = 0.25  # the SMSC log and the BOSS table are redrawn this often
ledger_refresh_s: Final = 2.0  # /api/v1 is asked this often
log_lines_max: Final = 1_000
throttle_rate_toggled: Final = 0.5  # the share of submit_sm throttled while `t` is on
Clock = Callable[[], datetime]


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def describe(event: SmscEvent) -> str:
    """One log line for an SMSC event, PINs masked, without ports or times."""
    match event:
        case Bound(system_id, kind, peer):
            return f"bind    {system_id} as {kind} from {peer.rsplit(':', 1)[0]}"
        case Unbound(system_id, kind, reason):
            return f"unbind  {system_id} ({kind}): {reason}"
        case MoSent(msisdn, to, text, _, parts, coding):
            return f"MO      {national(msisdn)} → {to} [{parts}×0x{coding:02X}] {text}"
        case MoAcked(msisdn, to, _, attempts):
            return f"MO ack  {national(msisdn)} → {to} after {attempts} deliver_sm"
        case MoRedelivered(msisdn, to, _, reason, _):
            return f"MO again {national(msisdn)} → {to}: {reason}"
        case MtReceived(source, destination, text, coding, parts, _):
            return f"MT      {source} → {national(destination)} [{parts}×0x{coding:02X}] {text}"
        case ReceiptSent(_, source, _, state):
            return f"receipt {national(source)}: {state}"
        case UssdPageShown(msisdn, session, text):
            return f"USSD    #{session} → {national(msisdn)}: {text}"
        case UssdEnded(msisdn, session, text):
            return f"USSD end #{session} → {national(msisdn)}: {text}"
        case UssdAborted(msisdn, session, reason):
            return f"USSD abort #{session} {national(msisdn)}: {reason}"
        case FaultInjected(kind, detail):
            return f"FAULT   {kind}: {detail}"
    return repr(event)  # pragma: no cover - every event is listed above


class SmscConsole(Vertical, can_focus=True):
    """The SMSC's binds and traffic."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "throttle", "Throttle"),
        Binding("d", "drop", "Drop links"),
    ]

    def __init__(self, smsc: Smsc, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.smsc = smsc
        self._clock = clock
        self._subscription: Subscription | None = None

    def compose(self) -> ComposeResult:
        yield Label(id="smsc-status")
        yield RichLog(max_lines=log_lines_max, wrap=True, min_width=40, id="smsc-log")

    def on_mount(self) -> None:
        self._subscription = self.smsc.events.subscribe()
        self.set_interval(refresh_s, self.refresh_log)
        self.refresh_log()

    def on_unmount(self) -> None:
        if self._subscription is not None:
            self._subscription.close()

    def refresh_log(self) -> None:
        """Write the events that came since the last tick; redraw the status line."""
        assert self._subscription is not None
        log = self.query_one("#smsc-log", RichLog)
        for event in self._subscription.pending():
            log.write(f"{self._clock():%H:%M:%S} {mask_pins(describe(event))}")
        binds = ", ".join(sorted(f"{link.system_id} ({link.kind})" for link in self.smsc.bound))
        throttle = "on" if self.smsc.faults.throttle_rate else "off"
        self.query_one("#smsc-status", Label).update(
            f"binds: {binds or 'none'} · throttle {throttle} (t) · drop links (d)"
        )

    def action_throttle(self) -> None:
        rate = 0.0 if self.smsc.faults.throttle_rate else throttle_rate_toggled
        self.smsc.set_faults(Faults(throttle_rate=rate, seed=self.smsc.faults.seed))
        self.refresh_log()

    def action_drop(self) -> None:
        self.smsc.drop_links()
        self.refresh_log()


class BossConsole(Vertical, can_focus=True):
    """Every subscriber BOSS knows, with balance or bill due."""

    COLUMNS: Final = ("number", "type", "balance / bill due", "language", "status")

    def __init__(self, boss: BossState, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.boss = boss

    def compose(self) -> ComposeResult:
        yield Label("BOSS subscribers (balance: prepaid; bill due: postpaid)", id="boss-title")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="boss-table")

    def on_mount(self) -> None:
        table = self.query_one("#boss-table", DataTable)
        for column in self.COLUMNS:
            table.add_column(column, key=column)
        self.set_interval(refresh_s * 4, self.refresh_table)
        self.refresh_table()

    def refresh_table(self) -> None:
        table: DataTable[str] = self.query_one("#boss-table", DataTable)
        for subscriber in sorted(self.boss.subscribers(), key=lambda s: s.msisdn):
            number = national(subscriber.msisdn)
            row = (number, subscriber.kind, yuan(subscriber.position_fen), subscriber.language,
                   subscriber.status)  # fmt: skip
            if number in table.rows:
                for column, value in zip(self.COLUMNS, row, strict=True):
                    if table.get_cell(number, column) != value:
                        table.update_cell(number, column, value)
            else:
                table.add_row(*row, key=number)

    def shown(self, msisdn: str) -> str:
        """The balance or bill due the console shows for `msisdn` (tests)."""
        table: DataTable[str] = self.query_one("#boss-table", DataTable)
        return table.get_cell(national(msisdn), "balance / bill due")


class LedgerConsole(Vertical, can_focus=True):
    """The agents' balances and the unsettled outcomes, over `/api/v1`."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "reload", "Reload")]
    AGENT_COLUMNS: Final = ("agent", "name", "level", "deposit", "available", "comm.")
    OUTCOME_COLUMNS: Final = ("state", "ref", "kind", "agent", "number", "amount")

    def __init__(self, api: ApiClient, agents: Sequence[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.api = api
        self.agents = tuple(agents)
        self._loading: asyncio.Lock = asyncio.Lock()

    def compose(self) -> ComposeResult:
        yield Label("Agents (ledger, over /api/v1)", id="agents-title")
        yield DataTable(cursor_type="row", id="agents-table")
        yield Label("Outcomes pending or in manual review", id="outcomes-title")
        yield DataTable(cursor_type="row", id="outcomes-table")
        yield Label("", id="ledger-status")

    def on_mount(self) -> None:
        agents = self.query_one("#agents-table", DataTable)
        for column in self.AGENT_COLUMNS:
            agents.add_column(column, key=column)
        outcomes = self.query_one("#outcomes-table", DataTable)
        for column in self.OUTCOME_COLUMNS:
            outcomes.add_column(column, key=column)
        self.set_interval(ledger_refresh_s, self.action_reload)
        self.action_reload()

    def action_reload(self) -> None:
        self.run_worker(self.reload(), group="ledger", exclusive=True)

    async def reload(self) -> None:
        """Ask `/api/v1` for the agents and the outcomes; redraw both tables."""
        if self._loading.locked():
            return
        async with self._loading:
            try:
                agents = [await self.api.agent(msisdn) for msisdn in self.agents]
                pending = await self.api.outcomes("pending")
                manual = await self.api.outcomes("manual")
            except Exception as exc:  # the platform is down or slow: say so, try again later
                self.query_one("#ledger-status", Label).update(f"/api/v1: {exc}")
                return
            with contextlib.suppress(Exception):  # unmounted while waiting
                self._fill_agents(agents)
                self._fill_outcomes([*pending, *manual])
                self.query_one("#ledger-status", Label).update("")

    def _fill_agents(self, agents: list[dict[str, Any]]) -> None:
        table: DataTable[str] = self.query_one("#agents-table", DataTable)
        table.clear()
        for agent in agents:
            number = national(agent["msisdn"])
            table.add_row(
                number, agent["name"], str(agent["level"]),
                yuan(agent["deposit"]["posted_fen"]), yuan(agent["deposit"]["available_fen"]),
                yuan(agent["commission"]["posted_fen"]), key=number,
            )  # fmt: skip

    def _fill_outcomes(self, outcomes: list[dict[str, Any]]) -> None:
        table: DataTable[str] = self.query_one("#outcomes-table", DataTable)
        table.clear()
        for item in outcomes:
            table.add_row(
                item["state"], item["ref"], item["kind"], national(item["agent_msisdn"] or ""),
                national(item["msisdn"] or ""), yuan(item["amount_fen"]),
            )  # fmt: skip

    def deposit_shown(self, msisdn: str) -> str:
        """The posted deposit the console shows for agent `msisdn` (tests)."""
        table: DataTable[str] = self.query_one("#agents-table", DataTable)
        return table.get_cell(national(msisdn), "deposit")


__all__ = ["BossConsole", "LedgerConsole", "SmscConsole", "describe", "yuan"]
