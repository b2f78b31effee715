"""The demo subscribers of ARCHITECTURE.md."""

from __future__ import annotations

from simulator.boss import BossState, Fen, Ref, seed_demo_subscribers
from simulator.boss.demo import demo_subscribers
from tests.simulator.boss.helpers import P1, P_EN, UNKNOWN


def test_demo_subscribers():
    subscribers = {s.msisdn: s for s in demo_subscribers()}
    prepaid = [s for s in subscribers.values() if s.kind == "prepaid"]
    postpaid = [s for s in subscribers.values() if s.kind == "postpaid"]
    assert sorted(s.msisdn for s in prepaid) == [f"86139000000{n:02d}" for n in range(1, 11)]
    assert sorted(s.msisdn for s in postpaid) == [f"86137000000{n:02d}" for n in range(1, 6)]
    assert {s.balance_fen for s in prepaid} == {1000}
    assert {s.bill_due_fen for s in postpaid} == {5800}
    assert [s.msisdn for s in subscribers.values() if s.language == "en"] == [P_EN]
    assert {s.status for s in subscribers.values()} == {"active"}
    assert UNKNOWN not in subscribers


def test_seeding_only_a_fresh_state():
    state = BossState()
    assert seed_demo_subscribers(state)
    state.recharge(Ref("r1"), P1, Fen(1))
    assert not seed_demo_subscribers(state)
    subscriber = state.subscriber(P1)
    assert subscriber is not None
    assert subscriber.balance_fen == 1001
    assert len(state.subscribers()) == 15
