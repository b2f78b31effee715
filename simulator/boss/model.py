"""Value types of the BOSS emulator: subscribers, operations, outcomes and state events.

Everything here is immutable and free of I/O; `state.BossState` decides, these types record.
Money is integer fen (`Fen`), numbers are E.164 digits without '+' (`Msisdn`), and every
operation is keyed by the platform's reference (`Ref`), one namespace for all kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Literal, NewType

Msisdn = NewType("Msisdn", str)
Fen = NewType("Fen", int)
Ref = NewType("Ref", str)

Clock = Callable[[], datetime]

# China has kept UTC+8 without daylight saving since 1991, so a fixed offset is the
# Asia/Shanghai calendar and needs no tz database (absent on some platforms).
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

SubscriberKind = Literal["prepaid", "postpaid"]
Language = Literal["zh-CN", "en"]
SubscriberStatus = Literal["active", "inactive"]
OperationKind = Literal["recharge", "billpay", "transfer", "reversal"]
OperationStatus = Literal["applied", "failed"]
# What a mutating call answers: the operation's status, or why it was not even considered.
OutcomeStatus = Literal["applied", "failed", "cancelled", "conflict"]
# What a status query (or a cancel) answers.
RefStatus = Literal["applied", "failed", "cancelled", "not_found"]

Reason = Literal[
    "unknown_subscriber",
    "not_prepaid",
    "not_postpaid",
    "subscriber_inactive",
    "insufficient_balance",
    "same_subscriber",
    "original_not_applied",
    "already_reversed",
    "original_is_reversal",
]


def shanghai_now() -> datetime:
    """The default clock: now, in Asia/Shanghai."""
    return datetime.now(SHANGHAI)


def business_day(moment: datetime) -> date:
    """The Asia/Shanghai calendar day of an aware moment."""
    assert moment.tzinfo is not None, "moments are timezone-aware"
    return moment.astimezone(SHANGHAI).date()


@dataclass(frozen=True, slots=True)
class Subscriber:
    """One subscriber as BOSS knows it.

    A prepaid subscriber has a balance (never below zero); a postpaid one has a bill due, which
    goes negative when more than due was paid (credit ahead). The other field stays zero.
    """

    msisdn: Msisdn
    kind: SubscriberKind
    balance_fen: Fen = Fen(0)
    bill_due_fen: Fen = Fen(0)
    language: Language = "zh-CN"
    status: SubscriberStatus = "active"

    def __post_init__(self) -> None:
        if self.kind == "prepaid":
            assert self.balance_fen >= 0, f"prepaid balance below zero: {self}"
            assert self.bill_due_fen == 0, f"prepaid subscriber with a bill: {self}"
        else:
            assert self.balance_fen == 0, f"postpaid subscriber with a balance: {self}"

    @property
    def position_fen(self) -> Fen:
        """The balance (prepaid) or the bill due (postpaid)."""
        return self.balance_fen if self.kind == "prepaid" else self.bill_due_fen


@dataclass(frozen=True, slots=True)
class Position:
    """A subscriber's balance (prepaid) or bill due (postpaid) right after an operation."""

    msisdn: Msisdn
    kind: SubscriberKind
    amount_fen: Fen


@dataclass(frozen=True, slots=True)
class Request:
    """What the platform asked under a reference; a replay must ask exactly the same."""

    kind: OperationKind
    msisdn: Msisdn | None = None
    counterparty: Msisdn | None = None
    amount_fen: Fen | None = None
    original_ref: Ref | None = None


@dataclass(frozen=True, slots=True)
class BossOperation:
    """The record of one reference's single decision: applied, or failed with a reason.

    For a transfer `msisdn` pays and `counterparty` receives. For a reversal `msisdn`,
    `counterparty` and `amount_fen` are the original's (None, None, 0 when the original is
    unknown) and `original_ref` names it. `positions_after` holds the balances or bills of the
    subscribers touched, `msisdn` first, as they were right after applying.
    """

    ref: Ref
    kind: OperationKind
    msisdn: Msisdn | None
    counterparty: Msisdn | None
    amount_fen: Fen
    status: OperationStatus
    reason: Reason | None
    recorded_at: datetime
    applied_at: datetime | None = None
    original_ref: Ref | None = None
    positions_after: tuple[Position, ...] = ()

    def __post_init__(self) -> None:
        assert self.recorded_at.tzinfo is not None, "recorded_at is timezone-aware"
        assert (self.status == "applied") == (self.applied_at is not None)
        assert (self.status == "failed") == (self.reason is not None)
        assert (self.kind == "reversal") == (self.original_ref is not None)

    @property
    def request(self) -> Request:
        """The request this record answers, for comparing replays."""
        if self.kind == "reversal":
            return Request(kind="reversal", original_ref=self.original_ref)
        return Request(
            kind=self.kind,
            msisdn=self.msisdn,
            counterparty=self.counterparty,
            amount_fen=self.amount_fen,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer to a mutating call.

    `operation` is the reference's record (None for `cancelled` and `conflict`); `replayed` is
    True when the record existed before this call, so nothing changed.
    """

    ref: Ref
    status: OutcomeStatus
    operation: BossOperation | None = None
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Lookup:
    """The answer to a status query or a cancel."""

    ref: Ref
    status: RefStatus
    operation: BossOperation | None = None
    reversed_by: Ref | None = None


@dataclass(frozen=True, slots=True)
class SubscriberSet:
    """State event: a subscriber added or replaced wholesale (demo seeding, test setup)."""

    subscriber: Subscriber


@dataclass(frozen=True, slots=True)
class OperationRecorded:
    """State event: a reference decided, applied or failed."""

    operation: BossOperation


@dataclass(frozen=True, slots=True)
class RefCancelled:
    """State event: an unknown reference cancelled, so a later request under it is refused."""

    ref: Ref
    at: datetime


Event = SubscriberSet | OperationRecorded | RefCancelled
