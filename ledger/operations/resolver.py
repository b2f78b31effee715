"""The resolver: settles sales whose outcome at BOSS is not known, by asking BOSS about the
very reference the sale was sent under (never sending it again under a new one).

Its work is the operations table itself: a sale or a reversal `unknown` (BOSS timed out,
reset, answered 5xx) or still `reserved` past `stale_after_s` (the process died between the
reservation and BOSS's answer) is a case; state, attempts and the next time to ask live in
the row, so the work resumes after a crash or on another process. With several processes, a
case is worked under a lease (`lease_owner`, `lease_until`), taken by one conditional
update, so one process at a time asks BOSS and settles it; a lease outlives a crash by
`lease_s` at most.

For each case, BOSS's `status` of the reference decides:
- `applied` → post (and commissions, in the same transaction); `failed` or `cancelled` → void;
- `not_found` → the resolver first **cancels** the reference at BOSS, so a late arrival is
  refused, and voids only once BOSS confirms the cancel (if the cancel finds it applied after
  all, it posts);
- no definite answer → asked again after a capped exponential back-off.
A case older than `manual_after_s` goes to `manual`: the reservation stays held and a person
decides (audited). The ledger never expires a reservation that waits on BOSS.

Settling goes through the same `settle` as the live path, so the two cannot disagree: the
post or void is keyed by the reference, and a pending transfer resolves at most once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, NamedTuple

from sqlalchemy import Row, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger import audit
from ledger.gateways.boss import (
    BossApplied,
    BossCancelled,
    BossFailed,
    BossNotFound,
    BossResult,
    BossUnknown,
)
from ledger.operations.context import OperationContext
from ledger.operations.reversal import KIND as REVERSAL
from ledger.operations.reversal import settle_reversal
from ledger.operations.sale import SALE_KINDS, reserved_from_row, settle
from ledger.operations.transfer import KIND as TRANSFER
from ledger.operations.transfer import settle_transfer
from ledger.schema import operations

log = logging.getLogger(__name__)

OPEN_STATES: Final = ("reserved", "unknown")


async def open_outcomes(conn: AsyncConnection) -> int:
    """Operations whose outcome is not settled yet (in flight, or the resolver's)."""
    query = select(func.count()).select_from(operations).where(operations.c.state.in_(OPEN_STATES))
    return int((await conn.execute(query)).scalar_one())


@dataclass(frozen=True, slots=True)
class ResolverPolicy:
    interval_s: float = 2.0  # between sweeps
    cases_per_sweep: int = 50
    stale_after_s: float = 30.0  # a `reserved` sale older than this lost its caller
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0
    lease_s: float = 60.0
    manual_after_s: float = 3600.0

    def __post_init__(self) -> None:
        for name in self.__slots__:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{name} = {value!r}: expected a positive number")

    def backoff(self, attempts: int) -> timedelta:
        seconds = self.backoff_base_s * 2 ** min(attempts, 30)
        return timedelta(seconds=min(self.backoff_max_s, seconds))


class SweepReport(NamedTuple):
    posted: int = 0
    voided: int = 0
    to_manual: int = 0
    deferred: int = 0


class Resolver:
    def __init__(
        self,
        ctx: OperationContext,
        owner: str,
        policy: ResolverPolicy,
        observer: Callable[[SweepReport], None] | None = None,
    ) -> None:
        self._ctx = ctx
        self._owner = owner[:64]
        self._policy = policy
        self._observer = observer
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="resolver")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                report = await self.sweep()
                if report != SweepReport():
                    log.info("resolver: %s", report)
                if self._observer is not None:
                    self._observer(report)
            except Exception:  # a broken sweep must not end the resolver
                log.exception("resolver sweep failed; trying again")
            await asyncio.sleep(self._policy.interval_s)

    async def sweep(self) -> SweepReport:
        """Work every due case once (those this process can lease)."""
        now = self._ctx.clock()
        counts = {"posted": 0, "voided": 0, "to_manual": 0, "deferred": 0}
        for row in await self._due(now):
            if not await self._lease(row.id, now):
                continue
            counts[await self._work(row, now)] += 1
        return SweepReport(**counts)

    async def _due(self, now: datetime) -> list[Row[object]]:
        stale = now - timedelta(seconds=self._policy.stale_after_s)
        query = (
            select(operations)
            .where(
                operations.c.kind.in_((*SALE_KINDS, REVERSAL, TRANSFER)),
                or_(
                    operations.c.state == "unknown",
                    (operations.c.state == "reserved") & (operations.c.created_at <= stale),
                ),
                or_(operations.c.next_check_at.is_(None), operations.c.next_check_at <= now),
                or_(operations.c.lease_until.is_(None), operations.c.lease_until < now),
            )
            .order_by(operations.c.state, operations.c.created_at, operations.c.id)
            .limit(self._policy.cases_per_sweep)
        )
        async with self._ctx.reader.connect() as conn:
            return list((await conn.execute(query)).all())

    async def _lease(self, operation_id: int, now: datetime) -> bool:
        until = now + timedelta(seconds=self._policy.lease_s)
        async with self._ctx.engine.begin() as conn:
            taken = await conn.execute(
                update(operations)
                .where(
                    operations.c.id == operation_id,
                    operations.c.state.in_(OPEN_STATES),
                    or_(operations.c.lease_until.is_(None), operations.c.lease_until < now),
                )
                .values(lease_owner=self._owner, lease_until=until)
            )
        return taken.rowcount == 1

    async def _work(self, row: Row[object], now: datetime) -> str:
        ctx, ref = self._ctx, row.ref
        if row.created_at <= now - timedelta(seconds=self._policy.manual_after_s):
            await self._to_manual(row, now)
            return "to_manual"
        answer = await ctx.boss.status(ref)
        if isinstance(answer, BossNotFound):
            answer = await ctx.boss.cancel(ref)  # a late arrival is refused from now on
        decided: BossResult | None = None
        if isinstance(answer, BossApplied | BossFailed):
            decided = answer
        elif isinstance(answer, BossCancelled):
            decided = BossFailed(ref, "boss_cancelled")
        if decided is None:
            assert isinstance(answer, BossUnknown)
            await self._defer(row, now, answer.detail)
            return "deferred"
        if row.kind == REVERSAL:
            outcome = await settle_reversal(ctx, row, decided)
        elif row.kind == TRANSFER:
            outcome = await settle_transfer(ctx, ref, decided)
        else:
            async with ctx.reader.connect() as conn:
                reserved = await reserved_from_row(conn, row)
            outcome = await settle(ctx, reserved, decided, late=True)
        log.info("resolver: %s settled as %s (after %d attempts)", ref, outcome.code, row.attempts)
        return "posted" if isinstance(decided, BossApplied) else "voided"

    async def _defer(self, row: Row[object], now: datetime, detail: str) -> None:
        attempts = row.attempts + 1
        async with self._ctx.engine.begin() as conn:
            await conn.execute(
                update(operations)
                .where(operations.c.id == row.id, operations.c.lease_owner == self._owner)
                .values(
                    state="unknown",
                    reason=detail[:64],
                    attempts=attempts,
                    next_check_at=now + self._policy.backoff(attempts),
                    lease_owner=None,
                    lease_until=None,
                    updated_at=now,
                )
            )

    async def _to_manual(self, row: Row[object], now: datetime) -> None:
        async with self._ctx.engine.begin() as conn:
            moved = await conn.execute(
                update(operations)
                .where(operations.c.id == row.id, operations.c.state.in_(OPEN_STATES))
                .values(
                    state="manual",
                    reason="outcome_unknown",
                    lease_owner=None,
                    lease_until=None,
                    updated_at=now,
                )
            )
            if moved.rowcount == 1:
                await audit.record(
                    conn,
                    at=now,
                    actor=f"resolver:{self._owner}",
                    action="to_manual_review",
                    subject=row.ref,
                    detail={"attempts": row.attempts, "amount_fen": row.amount},
                )
        log.warning(
            "resolver: %s unknown after %d attempts: to manual review", row.ref, row.attempts
        )


__all__ = ["Resolver", "ResolverPolicy", "SweepReport", "open_outcomes"]
