"""What every operation runs with: storage, the journal writer, BOSS, the PIN key, limits,
the clock."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger import sqlite
from ledger.commissions import CommissionPlan
from ledger.gateways.boss import BossGateway
from ledger.limits import LimitDefaults
from ledger.money import Fen, Msisdn, amount_fen_max, msisdn
from ledger.operations.contract import Value
from ledger.operations.sms import SmsLink
from ledger.pins import PinKeys, PinPolicy
from ledger.platform_accounts import PlatformAccounts
from ledger.writer import LedgerWriter

log = logging.getLogger(__name__)

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
    sms: SmsLink | None = None  # the SMS link, if the platform has one
    # Short indexed reads on the loop's own thread (SQLite files; None elsewhere).
    loop_reads: sqlite.LoopReader | None = None
    # The same engine for transactions that only read: on SQLite they take no lock
    # (`ledger.sqlite.reader`). Anything that writes goes through `engine` or the writer.
    reader: AsyncEngine = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reader", sqlite.reader(self.engine))


async def notify(
    ctx: OperationContext,
    recipient: str,
    notice: str,
    values: Mapping[str, Value],
    items: Sequence[Mapping[str, Value]] = (),
) -> None:
    """Queue an SMS notice when the platform has an SMS link. A notice is a courtesy: the
    money has moved whether or not it can be queued, so a failure is logged, never raised."""
    if ctx.sms is None:
        return
    try:
        await ctx.sms.notify(Msisdn(recipient), notice, values, items)
    except Exception:
        log.exception("notice %s to %s could not be queued", notice, recipient)


def param_str(params: Mapping[str, Value], name: str) -> str | None:
    value = params.get(name)
    return value if isinstance(value, str) and value else None


def param_fen(params: Mapping[str, Value], name: str) -> int | None:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


@dataclass(frozen=True, slots=True)
class MoneyParams:
    """What every money operation is asked with: a number, an amount and a PIN (or seal)."""

    target: Msisdn
    amount: Fen
    credential: str


def money_params(params: Mapping[str, Value]) -> MoneyParams | None:
    """`msisdn`, `amount_fen` (1 fen .. the ledger's largest amount) and `pin`; None when
    any is missing or malformed (the operation answers `bad_request`)."""
    target_text = param_str(params, "msisdn")
    amount = param_fen(params, "amount_fen")
    credential = param_str(params, "pin")
    if target_text is None or amount is None or credential is None:
        return None
    if not 0 < amount <= amount_fen_max:
        return None
    try:
        return MoneyParams(msisdn(target_text), Fen(amount), credential)
    except ValueError:
        return None
