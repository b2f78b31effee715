"""Who is asking: the acting agent, checked by PIN, with lockout and a per-source throttle.

- `attempts_max` wrong PINs in a row lock the agent for `lockout_minutes`; the lockout is
  audited. A right PIN resets the count.
- Wrong PINs are also counted per channel source (a WAP client's address, an IVR caller; for
  SMS and USSD the sending number, which the network vouches for). Past
  `source_failures_max` in `source_window_minutes`, PINs from that source are not checked at
  all and count against nobody: whoever guesses from one place cannot lock agents out at
  will, and gets nowhere.
- A seal that no longer opens (made under a rotated key) answers "wrong PIN" but is no guess,
  so it counts as no attempt.
- A PIN right under an old key or scheme is stored again under the current one.

The counts are written outside the journal writer, in their own small transactions: they are
not money, and a refusal must be remembered even though nothing else is written.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger import audit
from ledger.agents import Agent, find_agent
from ledger.money import Msisdn
from ledger.operations.context import OperationContext
from ledger.operations.contract import OperationOutcome
from ledger.pins import SEAL_PREFIX, PinPolicy, check_pin, hash_pin, unseal
from ledger.schema import agents, pin_throttle

log = logging.getLogger(__name__)


async def authenticate(
    ctx: OperationContext, actor: Msisdn, credential: str, source: str
) -> Agent | OperationOutcome:
    """The acting agent when known, active, not locked and the PIN matches; else the
    refusal, with wrong PINs counted (see the module docstring)."""
    async with ctx.reader.connect() as conn:
        agent = await find_agent(conn, actor)
        count = await source_count(conn, source)
    return await decide(ctx, agent, count, actor, credential, source)


@dataclass(frozen=True, slots=True)
class SourceCount:
    """A channel source's wrong PINs in its current window (its `pin_throttle` row)."""

    failures: int
    window_start: datetime


async def decide(
    ctx: OperationContext,
    agent: Agent | None,
    count: SourceCount | None,
    actor: Msisdn,
    credential: str,
    source: str,
) -> Agent | OperationOutcome:
    """`authenticate` given what it reads: the agent by number and its source's count, as
    read in this operation (never kept from an earlier one: status, lock and PIN decide
    about money)."""
    now = ctx.clock()
    policy = ctx.pin_policy
    if _throttled(count, now, policy):
        log.warning("PIN attempts from %s throttled", source)
        return OperationOutcome("too_many_attempts", {"minutes": policy.source_window_minutes})
    if agent is None:
        await _count_source(ctx, source, now)
        return OperationOutcome("unknown_agent")
    if not agent.active:
        return OperationOutcome("agent_inactive")
    if agent.pin_locked_until is not None and agent.pin_locked_until > now:
        minutes = math.ceil((agent.pin_locked_until - now) / timedelta(minutes=1))
        return OperationOutcome("pin_locked", {"minutes": minutes})
    pin = unseal(ctx.pin_keys, actor, credential)
    if pin is None and credential.startswith(SEAL_PREFIX):
        return OperationOutcome("wrong_pin", {"attempts_left": _left(agent, policy)})
    checked = check_pin(ctx.pin_keys, agent.msisdn, agent.pin_hash, pin or "")
    if not checked.ok:
        return await _wrong(ctx, agent, source, now)
    if checked.rehash or agent.pin_failures or agent.pin_locked_until is not None:
        values: dict[str, object] = {"pin_failures": 0, "pin_locked_until": None}
        if checked.rehash:
            assert pin is not None
            values["pin_hash"] = hash_pin(ctx.pin_keys, agent.msisdn, pin)
        async with ctx.engine.begin() as conn:
            await conn.execute(update(agents).where(agents.c.id == agent.id).values(values))
    return agent


def _left(agent: Agent, policy: PinPolicy) -> int:
    return max(0, policy.attempts_max - agent.pin_failures)


async def _wrong(
    ctx: OperationContext, agent: Agent, source: str, now: datetime
) -> OperationOutcome:
    policy = ctx.pin_policy
    async with ctx.engine.begin() as conn:
        failures = (
            await conn.execute(
                update(agents)
                .where(agents.c.id == agent.id)
                .values(pin_failures=agents.c.pin_failures + 1)
                .returning(agents.c.pin_failures)
            )
        ).scalar_one()
        await _count_source_in(conn, source, now, policy)
        if failures < policy.attempts_max:
            return OperationOutcome("wrong_pin", {"attempts_left": policy.attempts_max - failures})
        until = now + timedelta(minutes=policy.lockout_minutes)
        await conn.execute(
            update(agents)
            .where(agents.c.id == agent.id)
            .values(pin_failures=0, pin_locked_until=until)
        )
        await audit.record(
            conn,
            at=now,
            actor=source,
            action="pin_locked",
            subject=agent.msisdn,
            detail={"failures": failures, "until": until.isoformat()},
        )
    log.warning("agent %s locked until %s after %d wrong PINs", agent.msisdn, until, failures)
    return OperationOutcome("pin_locked", {"minutes": policy.lockout_minutes})


async def source_count(conn: AsyncConnection, source: str) -> SourceCount | None:
    row = (
        await conn.execute(select(pin_throttle).where(pin_throttle.c.source == source[:64]))
    ).first()
    return None if row is None else SourceCount(row.failures, row.window_start)


def _throttled(count: SourceCount | None, now: datetime, policy: PinPolicy) -> bool:
    if count is None or count.window_start <= now - timedelta(minutes=policy.source_window_minutes):
        return False
    return count.failures >= policy.source_failures_max


async def _count_source(ctx: OperationContext, source: str, now: datetime) -> None:
    async with ctx.engine.begin() as conn:
        await _count_source_in(conn, source, now, ctx.pin_policy)


async def _count_source_in(
    conn: AsyncConnection, source: str, now: datetime, policy: PinPolicy
) -> None:
    """One more wrong PIN from `source`; a window that has passed starts again at one."""
    expired = pin_throttle.c.window_start <= now - timedelta(minutes=policy.source_window_minutes)
    dialect_insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    upsert = dialect_insert(pin_throttle).values(source=source[:64], window_start=now, failures=1)
    await conn.execute(
        upsert.on_conflict_do_update(
            index_elements=[pin_throttle.c.source],
            set_={
                "failures": case((expired, 1), else_=pin_throttle.c.failures + 1),
                "window_start": case((expired, now), else_=pin_throttle.c.window_start),
            },
        )
    )


__all__ = ["SourceCount", "authenticate", "decide", "source_count"]
