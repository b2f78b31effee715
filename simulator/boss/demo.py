"""The demo subscribers of ARCHITECTURE.md ("Demo data"), seeded into a fresh BOSS state.

Prepaid 13900000001…13900000010 with ¥10.00 each (13900000010 prefers English), postpaid
13700000001…13700000005 with ¥58.00 due each; 13600000000 stays unknown to BOSS.
"""

from __future__ import annotations

from simulator.boss.model import Fen, Msisdn, Subscriber
from simulator.boss.state import BossState

DEMO_PREPAID_BALANCE_FEN = Fen(1000)
DEMO_POSTPAID_BILL_DUE_FEN = Fen(5800)
DEMO_ENGLISH_MSISDN = Msisdn("8613900000010")
DEMO_UNKNOWN_MSISDN = Msisdn("8613600000000")


def demo_subscribers() -> list[Subscriber]:
    """The demo subscribers, prepaid first, as BOSS starts with them."""
    prepaid = [
        Subscriber(
            msisdn=msisdn,
            kind="prepaid",
            balance_fen=DEMO_PREPAID_BALANCE_FEN,
            language="en" if msisdn == DEMO_ENGLISH_MSISDN else "zh-CN",
        )
        for msisdn in (Msisdn(f"86139000000{n:02d}") for n in range(1, 11))
    ]
    postpaid = [
        Subscriber(
            msisdn=Msisdn(f"86137000000{n:02d}"),
            kind="postpaid",
            bill_due_fen=DEMO_POSTPAID_BILL_DUE_FEN,
        )
        for n in range(1, 6)
    ]
    return prepaid + postpaid


def seed_demo_subscribers(state: BossState) -> bool:
    """Seed the demo subscribers into a state that has never committed anything.

    A state replayed from an existing state file is left alone, so a restart keeps its balances.
    Returns whether it seeded.
    """
    if not state.is_empty():
        return False
    for subscriber in demo_subscribers():
        state.put_subscriber(subscriber)
    return True
