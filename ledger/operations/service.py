"""The one entry point channels call: `OperationService.execute(request) -> outcome`."""

from __future__ import annotations

import functools
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger import sqlite
from ledger.agents import Agent, find_agent, find_agent_now
from ledger.commissions import DEMO_PLAN, CommissionPlan
from ledger.gateways.bank import BankNotification, DepositReceipt
from ledger.gateways.boss import BossGateway
from ledger.limits import LimitDefaults
from ledger.money import Msisdn
from ledger.operations.allot import allot, reclaim
from ledger.operations.auth import authenticate
from ledger.operations.context import Clock, OperationContext, utc_now
from ledger.operations.contract import OK, OperationOutcome, OperationRequest
from ledger.operations.deposit import deposit
from ledger.operations.pin_change import change_pin
from ledger.operations.queries import balance, history
from ledger.operations.resolver import Resolver, ResolverPolicy, SweepReport, open_outcomes
from ledger.operations.reversal import reversal
from ledger.operations.sale import billpay, topup
from ledger.operations.sms import SmsLink
from ledger.operations.transfer import transfer_confirm, transfer_request
from ledger.pins import SEAL_PREFIX, PinKeys, PinPolicy, seal
from ledger.platform_accounts import ensure_platform_accounts
from ledger.writer import LedgerWriter, WriterStats

log = logging.getLogger(__name__)

Observer = Callable[[OperationRequest, OperationOutcome], None]
Handler = Callable[[OperationContext, OperationRequest], Awaitable[OperationOutcome]]

_HANDLERS: Final[Mapping[str, Handler]] = {
    "topup": topup,
    "billpay": billpay,
    "balance": balance,
    "history": history,
    "change_pin": change_pin,
    "allot": allot,
    "reclaim": reclaim,
    "reversal": reversal,
    "transfer_request": transfer_request,
    "transfer_confirm": transfer_confirm,
}
DEFAULT_PIN_POLICY: Final = PinPolicy()
CHECK_PIN: Final = "check_pin"  # what `check_pin` is observed as (not a flow's operation)
# Named by the shipped flows but not run by this platform yet: they answer `unavailable`
# ("not available yet"), which every channel shows as such. None today.
PLANNED_OPERATIONS: Final[frozenset[str]] = frozenset()
OPERATION_NAMES: Final = frozenset(_HANDLERS) | PLANNED_OPERATIONS

__all__ = ["OPERATION_NAMES", "OperationService"]


class OperationService:
    def __init__(
        self,
        engine: AsyncEngine,
        boss: BossGateway,
        pin_keys: PinKeys,
        limits: LimitDefaults,
        clock: Clock = utc_now,
        observer: Observer | None = None,
        commissions: CommissionPlan = DEMO_PLAN,
        pin_policy: PinPolicy = DEFAULT_PIN_POLICY,
        resolver: ResolverPolicy | None = None,
        sweep_observer: Callable[[SweepReport], None] | None = None,
        sms: SmsLink | None = None,
    ) -> None:
        """`resolver`: how the resolver sweeps in the background; None runs no background
        sweep (`resolve_due` still works a sweep on demand)."""
        self._engine = engine
        self._reader = sqlite.reader(engine)
        self._loop_reads = sqlite.LoopReader.for_engine(engine)
        self._boss = boss
        self._pin_keys = pin_keys
        self._pin_policy = pin_policy
        self._resolver_policy = resolver
        self._sweep_observer = sweep_observer
        self._sms = sms
        self._resolver: Resolver | None = None
        self._limits = limits
        self._clock = clock
        self._observer = observer
        self._commissions = commissions
        self._writer_label = f"{socket.gethostname()}:{os.getpid()}"
        self._writer = LedgerWriter(engine, label=self._writer_label)
        self._context: OperationContext | None = None

    async def start(self) -> None:
        """Find (or open) the platform accounts every operation touches."""
        async with self._engine.begin() as conn:
            platform = await ensure_platform_accounts(conn, self._clock())
        await self._writer.start()
        self._context = OperationContext(
            self._engine,
            self._writer,
            self._boss,
            self._pin_keys,
            self._pin_policy,
            self._limits,
            platform,
            self._clock,
            self._commissions,
            self._sms,
            self._loop_reads,
        )
        self._resolver = Resolver(
            self._context,
            self._writer_label,
            self._resolver_policy or ResolverPolicy(),
            self._sweep_observer,
        )
        if self._resolver_policy is not None:
            self._resolver.start()

    def ledger_stats(self) -> WriterStats:
        return self._writer.stats()

    async def close(self) -> None:
        """Stop the resolver, then let the writer finish what is queued."""
        if self._resolver is not None:
            await self._resolver.close()
            self._resolver = None
        await self._writer.close()
        if self._loop_reads is not None:
            self._loop_reads.dispose()
        self._context = None

    async def open_outcomes(self) -> int:
        """How many operations wait on an outcome (the resolver's cases, and those in flight)."""
        async with self._reader.connect() as conn:
            return await open_outcomes(conn)

    async def resolve_due(self) -> SweepReport:
        """Work the resolver's due cases now (tests, and `aircharge` tooling)."""
        if self._resolver is None:
            raise RuntimeError("OperationService.start() was not called")
        return await self._resolver.sweep()

    async def find_agent(self, msisdn: Msisdn) -> Agent | None:
        if self._loop_reads is not None:  # asked on every SMS and every USSD dial
            return self._loop_reads.run(functools.partial(find_agent_now, msisdn=msisdn))
        async with self._reader.connect() as conn:
            return await find_agent(conn, msisdn)

    def protect_pin(self, actor: Msisdn, credential: str) -> str:
        """A PIN as typed becomes a seal a channel may keep between dialog steps."""
        if credential.startswith(SEAL_PREFIX):
            return credential
        return seal(self._pin_keys, actor, credential)

    async def check_pin(
        self, actor: Msisdn, credential: str, *, channel: str, origin: str = ""
    ) -> OperationOutcome:
        """Sign an agent in: `ok` when `actor` is a known, active, unlocked agent and the PIN
        matches, else the refusal (`unknown_agent`, `agent_inactive`, `wrong_pin`,
        `pin_locked`, `too_many_attempts`). No money moves and nothing is journalled, but a
        wrong PIN counts exactly as in an operation: against the agent (lockout) and against
        the source `channel:origin` (the per-source throttle), so a sign-in page is no way
        round either. Observed as the operation `check_pin`."""
        if self._context is None:
            raise RuntimeError("OperationService.start() was not called")
        request = OperationRequest(
            name=CHECK_PIN, actor=actor, params={}, key=CHECK_PIN, channel=channel, origin=origin
        )
        agent = await authenticate(self._context, actor, credential, request.source)
        outcome = agent if isinstance(agent, OperationOutcome) else OperationOutcome(OK)
        if self._observer is not None:
            self._observer(request, outcome)
        return outcome

    async def deposit(self, notification: BankNotification) -> DepositReceipt:
        """Apply a verified bank notification (not a channel operation: only the bank's
        notify handler calls it)."""
        if self._context is None:
            raise RuntimeError("OperationService.start() was not called")
        return await deposit(self._context, notification)

    async def execute(self, request: OperationRequest) -> OperationOutcome:
        if self._context is None:
            raise RuntimeError("OperationService.start() was not called")
        handler = _HANDLERS.get(request.name)
        if handler is not None:
            outcome = await handler(self._context, request)
        elif request.name in PLANNED_OPERATIONS:
            log.info("operation %s (%s): not available yet", request.name, request.channel)
            outcome = OperationOutcome("unavailable")
        else:
            log.error("unknown operation %r asked by channel %s", request.name, request.channel)
            outcome = OperationOutcome("bad_request")
        if self._observer is not None:
            self._observer(request, outcome)
        return outcome
