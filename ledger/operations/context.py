"""What every operation runs with: storage, the journal writer, BOSS, the PIN key, limits,
the clock."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.commissions import CommissionPlan
from ledger.gateways.boss import BossGateway
from ledger.limits import LimitDefaults
from ledger.operations.contract import Value
from ledger.pins import PinKeys, PinPolicy
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
    pin_keys: PinKeys
    pin_policy: PinPolicy
    limits: LimitDefaults
    platform: PlatformAccounts
    clock: Clock
    commissions: CommissionPlan


def param_str(params: Mapping[str, Value], name: str) -> str | None:
    value = params.get(name)
    return value if isinstance(value, str) and value else None


def param_fen(params: Mapping[str, Value], name: str) -> int | None:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value
