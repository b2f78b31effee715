"""What the ledger needs from the operator's billing system (BOSS), independent of transport.

A money call (recharge, billpay, transfer, reversal) ends in exactly one of three outcomes.
`BossApplied` and `BossFailed` are definite; `BossUnknown` (time-out, reset, 5xx, garbled
answer) means the money may or may not have moved at BOSS, so the reservation stays and the
resolver asks again by reference. Never re-send with a new reference.

The resolver's questions have definite answers of their own: `status` says a reference was
applied, failed, never seen (`BossNotFound`) or cancelled (`BossCancelled`); `cancel` makes
sure a reference never applies and answers `BossCancelled`, or how it was decided before the
cancel arrived (`BossApplied`, `BossFailed`). Either answers `BossUnknown` when BOSS could not
be asked or its answer could not be understood. `subscriber` looks a number up: its type,
balance or bill due and language (`BossSubscriber`), `BossNoSubscriber`, or
`BossLookupUnknown`.

`BossFailed` voids money, so an adapter answers it only for a definite refusal by BOSS; any
doubt is unknown, which is always safe: the resolver settles it by reference.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from ledger.money import Fen, Msisdn


@dataclass(frozen=True, slots=True)
class BossApplied:
    ref: str


@dataclass(frozen=True, slots=True)
class BossFailed:
    ref: str
    reason: str


@dataclass(frozen=True, slots=True)
class BossUnknown:
    ref: str
    detail: str


@dataclass(frozen=True, slots=True)
class BossNotFound:
    """BOSS has never seen the reference (it may still arrive late, unless cancelled)."""

    ref: str


@dataclass(frozen=True, slots=True)
class BossCancelled:
    """BOSS will never apply the reference: a request under it, now or later, is refused."""

    ref: str


BossResult = BossApplied | BossFailed | BossUnknown
BossStatusResult = BossApplied | BossFailed | BossNotFound | BossCancelled | BossUnknown
BossCancelResult = BossApplied | BossFailed | BossCancelled | BossUnknown


class SubscriberType(enum.Enum):
    PREPAID = "prepaid"
    POSTPAID = "postpaid"


@dataclass(frozen=True, slots=True)
class BossSubscriber:
    """A subscriber as BOSS knows it.

    Prepaid: `balance` (never below zero), `bill_due` None. Postpaid: `bill_due`, below zero
    when paid ahead, `balance` None. `language` is BOSS's tag for the subscriber's preference
    (`zh-CN`, `en`); the platform picks its nearest catalogue.
    """

    msisdn: Msisdn
    type: SubscriberType
    balance: Fen | None
    bill_due: Fen | None
    language: str

    def __post_init__(self) -> None:
        prepaid = self.type is SubscriberType.PREPAID
        assert (self.balance is not None) == prepaid, self
        assert (self.bill_due is not None) != prepaid, self
        assert self.balance is None or self.balance >= 0, self
        assert self.language, self


@dataclass(frozen=True, slots=True)
class BossNoSubscriber:
    """BOSS does not know the number (not ours, or ported out)."""

    msisdn: Msisdn


@dataclass(frozen=True, slots=True)
class BossLookupUnknown:
    """BOSS could not be asked about the number, or its answer was not understood."""

    msisdn: Msisdn
    detail: str


BossSubscriberResult = BossSubscriber | BossNoSubscriber | BossLookupUnknown


class BossGateway(Protocol):
    async def recharge(self, ref: str, msisdn: Msisdn, amount: Fen) -> BossResult:
        """Credit a prepaid subscriber under the platform reference `ref`."""
        ...

    async def billpay(self, ref: str, msisdn: Msisdn, amount: Fen) -> BossResult:
        """Pay a postpaid subscriber's bill under `ref`; more than due is credited ahead."""
        ...

    async def transfer(
        self, ref: str, from_msisdn: Msisdn, to_msisdn: Msisdn, amount: Fen
    ) -> BossResult:
        """Move prepaid balance from one subscriber to another's balance or bill, under `ref`."""
        ...

    async def reversal(self, ref: str, original_ref: str) -> BossResult:
        """Undo the applied operation `original_ref`, once, under the new reference `ref`."""
        ...

    async def status(self, ref: str) -> BossStatusResult:
        """How BOSS decided `ref`, of whatever kind: applied, failed, not found or cancelled."""
        ...

    async def cancel(self, ref: str) -> BossCancelResult:
        """Make sure `ref` never applies; or learn that it was applied (or failed) already."""
        ...

    async def subscriber(self, msisdn: Msisdn) -> BossSubscriberResult:
        """Look a number up: type, balance or bill due, language."""
        ...
