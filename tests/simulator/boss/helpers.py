"""Shared constants and helpers of the BOSS emulator tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from simulator.boss import BossState, Fen, Msisdn

P1 = Msisdn("8613900000001")  # prepaid, 1000 fen
P2 = Msisdn("8613900000002")  # prepaid, 1000 fen
P_EN = Msisdn("8613900000010")  # prepaid, prefers English
B1 = Msisdn("8613700000001")  # postpaid, 5800 fen due
B2 = Msisdn("8613700000002")  # postpaid, 5800 fen due
UNKNOWN = Msisdn("8613600000000")


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def balance(state: BossState, msisdn: Msisdn) -> Fen:
    subscriber = state.subscriber(msisdn)
    assert subscriber is not None
    assert subscriber.kind == "prepaid"
    return subscriber.balance_fen


def bill_due(state: BossState, msisdn: Msisdn) -> Fen:
    subscriber = state.subscriber(msisdn)
    assert subscriber is not None
    assert subscriber.kind == "postpaid"
    return subscriber.bill_due_fen
