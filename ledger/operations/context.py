"""What every operation runs with: storage, the journal writer, BOSS, the PIN key, limits,
the clock."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.agents import Agent, find_agent, verify_pin
from ledger.commissions import CommissionPlan
from ledger.gateways.boss import BossGateway
from ledger.limits import LimitDefaults
from ledger.money import Msisdn
from ledger.operations.contract import OperationOutcome, Value
from ledger.platform_accounts import PlatformAccounts
from ledger.writer import LedgerWriter

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class OperationContext:
    engine: AsyncEngine
    writer: LedgerWriter
    boss: BossGateway
    pin_key: bytes
    limits: LimitDefaults
    platform: PlatformAccounts
    clock: Clock
    commissions: CommissionPlan


async def authenticate(
    conn: AsyncConnection, ctx: OperationContext, actor: Msisdn, credential: str
) -> Agent | OperationOutcome:
    """The acting agent when known, active and the PIN matches; else the refusal outcome."""
    agent = await find_agent(conn, actor)
    if agent is None:
        return OperationOutcome("unknown_agent")
    if not agent.active:
        return OperationOutcome("agent_inactive")
    if not verify_pin(ctx.pin_key, agent, credential):
        return OperationOutcome("wrong_pin")
    return agent


def param_str(params: Mapping[str, Value], name: str) -> str | None:
    value = params.get(name)
    return value if isinstance(value, str) and value else None


def param_fen(params: Mapping[str, Value], name: str) -> int | None:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value
