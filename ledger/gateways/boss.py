"""What the ledger needs from the operator's billing system (BOSS), independent of transport.

A call ends in exactly one of three outcomes. `BossApplied` and `BossFailed` are definite;
`BossUnknown` (time-out, reset, 5xx, garbled answer) means the money may or may not have
moved at BOSS, so the reservation stays and the resolver asks again by reference. Never
re-send with a new reference.
"""

from __future__ import annotations

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


BossResult = BossApplied | BossFailed | BossUnknown


class BossGateway(Protocol):
    async def recharge(self, ref: str, msisdn: Msisdn, amount: Fen) -> BossResult:
        """Credit a prepaid subscriber under the platform reference `ref`."""
        ...
