"""Consoles of the carrier elements: the SMSC's traffic, BOSS's subscribers, the ledger.

- `SmscConsole`: the binds, every PDU exchange the SMSC reports (MO, acknowledgements, MT,
  receipts, USSD pages, injected faults) with PINs masked, and its faults: `t` throttles half
  the platform's submit_sm, `v` answers half with a vendor status, `s` slows the responses,
  `a` loses MO acknowledgements (so the MO comes again), `d` drops the SMPP links (the
  platform binds again), `0` clears them.
- `BossConsole`: every subscriber's balance (prepaid) or bill due (postpaid), read from the
  BOSS emulator's state, and its faults: `l` latency, `o` time-outs, `e` errors, `p` lost
  responses (applied, never answered: the platform's resolver settles them), `0` none.
- `LedgerConsole`: the demo agents' deposit and commission balances and the operations whose
  outcome is pending or in manual review, read over the platform's `/api/v1`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar, Final, Generic, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Label, RichLog

from simulator.boss import BossState
from simulator.boss.faults import FaultConfig as BossFaults
from simulator.boss.faults import FaultInjector
from simulator.events import EventBus
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
vendor_status_rate_toggled: Final = 0.5  # the share answered with a vendor status while `v` is on
RATES: Final = (0.0, 0.5, 1.0)  # what a fault key cycles through
SUBMIT_LATENCIES_MS: Final = (0, 500, 3_000)
BOSS_LATENCIES_MS: Final = (0, 2_000, 8_000)  # 8 s: past the platform's default BOSS time-out
BOSS_RATES: Final = ("timeout_rate", "error_rate", "lost_response_rate", "late_apply_rate")
Clock = Callable[[], datetime]

_V = TypeVar("_V", int, float)
_E = TypeVar("_E")


def cycle(values: Sequence[_V], current: _V) -> _V:
    """The value after `current` in `values` (the first when `current` is not among them)."""
    return values[(values.index(current) + 1) % len(values)] if current in values else values[0]


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


class EventLog(Generic[_E]):
    """A bus's events as log lines stamped when they happen, kept (the latest
    `log_lines_max`) until the log shows: a hidden RichLog would wrap what it is given at its
    minimum width."""

    def __init__(self, bus: EventBus[_E], describe: Callable[[_E], str], clock: Clock) -> None:
        self._bus = bus
        self._describe = describe
        self._clock = clock
        self._waiting: deque[str] = deque(maxlen=log_lines_max)
        self.written: deque[str] = deque(maxlen=log_lines_max)  # the lines, unwrapped (tests)

    def start(self) -> None:
        self._bus.add_callback(self._arrived)

    def stop(self) -> None:
        self._bus.remove_callback(self._arrived)

    def _arrived(self, event: _E) -> None:
        self._waiting.append(f"{self._clock():%H:%M:%S} {mask_pins(self._describe(event))}")

    def flush(self, log: RichLog) -> None:
        if not log.is_on_screen:
            return
        while self._waiting:
            line = self._waiting.popleft()
            self.written.append(line)
            log.write(line)


class SmscConsole(Vertical, can_focus=True):
    """The SMSC's binds and traffic."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "throttle", "Throttle"),
        Binding("d", "drop", "Drop links"),
        Binding("s", "slow", "Slow resp"),
        Binding("a", "lose_acks", "Lose MO acks"),
        Binding("v", "vendor_status", "Vendor status"),
        Binding("0", "no_faults", "No faults"),
    ]

    def __init__(self, smsc: Smsc, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.smsc = smsc
        self.log_lines = EventLog(smsc.events, describe, clock)

    def compose(self) -> ComposeResult:
        yield Label(id="smsc-status")
        yield Label(id="smsc-faults")
        yield RichLog(max_lines=log_lines_max, wrap=True, min_width=40, id="smsc-log")

    def on_mount(self) -> None:
        self.log_lines.start()
        self.set_interval(refresh_s, self.refresh_log)
        self.refresh_log()

    def on_unmount(self) -> None:
        self.log_lines.stop()

    def refresh_log(self) -> None:
        """Write the events that came since the last tick; redraw the status line."""
        self.log_lines.flush(self.query_one("#smsc-log", RichLog))
        binds = ", ".join(sorted(f"{link.system_id} ({link.kind})" for link in self.smsc.bound))
        self.query_one("#smsc-status", Label).update(f"binds: {binds or 'none'} · drop links (d)")
        self.query_one("#smsc-faults", Label).update(smsc_faults_text(self.smsc.faults))

    def _set(self, **changes: Any) -> None:
        self.smsc.set_faults(replace(self.smsc.faults, **changes))
        self.refresh_log()

    def action_throttle(self) -> None:
        rate = 0.0 if self.smsc.faults.throttle_rate else throttle_rate_toggled
        self._set(throttle_rate=rate, vendor_status_rate=0.0)

    def action_vendor_status(self) -> None:
        rate = 0.0 if self.smsc.faults.vendor_status_rate else vendor_status_rate_toggled
        self._set(vendor_status_rate=rate, throttle_rate=0.0)

    def action_slow(self) -> None:
        self._set(submit_latency_ms=cycle(SUBMIT_LATENCIES_MS, self.smsc.faults.submit_latency_ms))

    def action_lose_acks(self) -> None:
        self._set(resp_lost_rate=cycle(RATES, self.smsc.faults.resp_lost_rate))

    def action_no_faults(self) -> None:
        self.smsc.set_faults(Faults(seed=self.smsc.faults.seed))
        self.refresh_log()

    def action_drop(self) -> None:
        self.smsc.drop_links()
        self.refresh_log()


def smsc_faults_text(faults: Faults) -> str:
    """The SMSC's faults on one short line, each with the key that changes it."""
    return (
        f"t throttle {faults.throttle_rate:.0%} · v vendor {faults.vendor_status_rate:.0%}"
        f" · s slow +{faults.submit_latency_ms}ms · a MO acks lost {faults.resp_lost_rate:.0%}"
        " · 0 off"
    )


class BossConsole(Vertical, can_focus=True):
    """Every subscriber BOSS knows, with balance or bill due, and BOSS's faults."""

    COLUMNS: Final = ("number", "type", "balance / bill due", "language", "status")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "latency", "Latency"),
        Binding("o", "fault('timeout_rate')", "Time-outs"),
        Binding("e", "fault('error_rate')", "Errors"),
        Binding("p", "fault('lost_response_rate')", "Lost resp."),
        Binding("0", "no_faults", "No faults"),
    ]

    def __init__(
        self, boss: BossState, faults: FaultInjector | None = None, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.boss = boss
        self.faults = faults  # None: the BOSS emulator is not in this process

    def compose(self) -> ComposeResult:
        yield Label("BOSS subscribers (balance: prepaid; bill due: postpaid)", id="boss-title")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="boss-table")
        yield Label("", id="boss-faults")

    def on_mount(self) -> None:
        table = self.query_one("#boss-table", DataTable)
        for column in self.COLUMNS:
            table.add_column(column, key=column)
        self.set_interval(refresh_s * 4, self.refresh_table)
        self.refresh_table()
        self._show_faults()

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

    def _configure(self, **changes: Any) -> None:
        if self.faults is None:
            return
        config = replace(self.faults.config, **changes)
        rates = {name: getattr(config, name) for name in BOSS_RATES}
        if sum(rates.values()) > 1:  # the one just raised wins: the others make room
            others: dict[str, Any] = {name: 0.0 for name in BOSS_RATES if name not in changes}
            config = replace(config, **others)
        self.faults.configure(config)
        self._show_faults()

    def action_latency(self) -> None:
        if self.faults is not None:
            self._configure(latency_ms=cycle(BOSS_LATENCIES_MS, self.faults.config.latency_ms))

    def action_fault(self, name: str) -> None:
        if self.faults is not None:
            self._configure(**{name: cycle(RATES, getattr(self.faults.config, name))})

    def action_no_faults(self) -> None:
        if self.faults is not None:
            self.faults.configure(BossFaults(seed=self.faults.config.seed))
            self._show_faults()

    def _show_faults(self) -> None:
        label = self.query_one("#boss-faults", Label)
        if self.faults is None:
            label.update("faults: set them where the BOSS emulator runs (PUT /boss/faults)")
            return
        config = self.faults.config
        label.update(
            f"l latency {config.latency_ms}ms · o time-out {config.timeout_rate:.0%}"
            f" · e 503 {config.error_rate:.0%} · p lost {config.lost_response_rate:.0%} · 0 off"
        )

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
