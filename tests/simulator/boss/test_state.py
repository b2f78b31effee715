"""The domain rules of BossState: at most once per reference, conflicts, cancels, reversals."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from simulator.boss import SHANGHAI, BossState, Fen, Ref, Subscriber
from tests.simulator.boss.helpers import B1, B2, P1, P2, UNKNOWN, FakeClock, balance, bill_due


def test_recharge_credits_a_prepaid_balance(state: BossState):
    outcome = state.recharge(Ref("r1"), P1, Fen(500))
    assert outcome.status == "applied"
    assert not outcome.replayed
    assert outcome.operation is not None
    assert outcome.operation.positions_after[0].amount_fen == 1500
    assert balance(state, P1) == 1500


def test_replay_of_the_same_ref_credits_once_and_answers_the_first_answer(state: BossState):
    first = state.recharge(Ref("r1"), P1, Fen(500))
    second = state.recharge(Ref("r1"), P1, Fen(500))
    assert second.replayed
    assert second.status == "applied"
    assert second.operation == first.operation
    assert balance(state, P1) == 1500


def test_replay_of_a_failure_answers_the_failure_even_when_it_would_now_succeed(
    state: BossState,
):
    state.put_subscriber(Subscriber(P1, "prepaid", Fen(0), status="inactive"))
    assert state.recharge(Ref("r1"), P1, Fen(500)).status == "failed"
    state.put_subscriber(Subscriber(P1, "prepaid", Fen(0), status="active"))
    again = state.recharge(Ref("r1"), P1, Fen(500))
    assert again.status == "failed"
    assert again.replayed
    assert balance(state, P1) == 0


def test_same_ref_with_other_content_is_a_conflict(state: BossState):
    state.recharge(Ref("r1"), P1, Fen(500))
    assert state.recharge(Ref("r1"), P1, Fen(501)).status == "conflict"
    assert state.recharge(Ref("r1"), P2, Fen(500)).status == "conflict"
    assert state.billpay(Ref("r1"), B1, Fen(500)).status == "conflict"
    assert state.transfer(Ref("r1"), P1, P2, Fen(500)).status == "conflict"
    assert state.reversal(Ref("r1"), Ref("r0")).status == "conflict"
    assert balance(state, P1) == 1500
    assert balance(state, P2) == 1000
    assert bill_due(state, B1) == 5800


def test_recharge_failures_are_recorded_against_the_ref(state: BossState):
    state.put_subscriber(Subscriber(P2, "prepaid", Fen(1000), status="inactive"))
    cases = {"a": UNKNOWN, "b": B1, "c": P2}
    reasons = {ref: state.recharge(Ref(ref), msisdn, Fen(100)) for ref, msisdn in cases.items()}
    assert {ref: o.operation.reason for ref, o in reasons.items() if o.operation} == {
        "a": "unknown_subscriber",
        "b": "not_prepaid",
        "c": "subscriber_inactive",
    }
    for ref in cases:
        assert state.status(Ref(ref)).status == "failed"
    assert balance(state, P2) == 1000
    assert bill_due(state, B1) == 5800


def test_billpay_lowers_the_bill_and_credits_ahead(state: BossState):
    assert state.billpay(Ref("b1"), B1, Fen(5000)).status == "applied"
    assert bill_due(state, B1) == 800
    assert state.billpay(Ref("b2"), B1, Fen(1000)).status == "applied"
    assert bill_due(state, B1) == -200


def test_billpay_failures(state: BossState):
    unknown = state.billpay(Ref("b1"), UNKNOWN, Fen(100))
    prepaid = state.billpay(Ref("b2"), P1, Fen(100))
    assert unknown.operation is not None
    assert unknown.operation.reason == "unknown_subscriber"
    assert prepaid.operation is not None
    assert prepaid.operation.reason == "not_postpaid"
    assert balance(state, P1) == 1000


def test_transfer_to_prepaid_and_to_postpaid(state: BossState):
    assert state.transfer(Ref("t1"), P1, P2, Fen(300)).status == "applied"
    assert (balance(state, P1), balance(state, P2)) == (700, 1300)
    outcome = state.transfer(Ref("t2"), P1, B1, Fen(700))
    assert outcome.status == "applied"
    assert (balance(state, P1), bill_due(state, B1)) == (0, 5100)
    assert outcome.operation is not None
    assert [p.amount_fen for p in outcome.operation.positions_after] == [0, 5100]


def test_transfer_failures_move_nothing(state: BossState):
    reasons = {
        "t1": state.transfer(Ref("t1"), P1, P2, Fen(1001)),
        "t2": state.transfer(Ref("t2"), B1, P1, Fen(1)),
        "t3": state.transfer(Ref("t3"), P1, UNKNOWN, Fen(1)),
        "t4": state.transfer(Ref("t4"), P1, P1, Fen(1)),
    }
    assert {ref: o.operation.reason for ref, o in reasons.items() if o.operation} == {
        "t1": "insufficient_balance",
        "t2": "not_prepaid",
        "t3": "unknown_subscriber",
        "t4": "same_subscriber",
    }
    assert (balance(state, P1), balance(state, P2), bill_due(state, B1)) == (1000, 1000, 5800)


def test_reversal_of_a_recharge_and_of_a_billpay(state: BossState):
    state.recharge(Ref("r1"), P1, Fen(500))
    state.billpay(Ref("b1"), B1, Fen(800))
    assert state.reversal(Ref("x1"), Ref("r1")).status == "applied"
    assert state.reversal(Ref("x2"), Ref("b1")).status == "applied"
    assert balance(state, P1) == 1000
    assert bill_due(state, B1) == 5800
    assert state.status(Ref("r1")).reversed_by == "x1"


def test_reversal_of_a_transfer_moves_the_money_back(state: BossState):
    state.transfer(Ref("t1"), P1, B2, Fen(400))
    assert state.reversal(Ref("x1"), Ref("t1")).status == "applied"
    assert (balance(state, P1), bill_due(state, B2)) == (1000, 5800)


def test_reversal_needs_the_balance_still_there(state: BossState):
    state.recharge(Ref("r1"), P1, Fen(500))
    state.transfer(Ref("t1"), P1, P2, Fen(1200))
    outcome = state.reversal(Ref("x1"), Ref("r1"))
    assert outcome.status == "failed"
    assert outcome.operation is not None
    assert outcome.operation.reason == "insufficient_balance"
    assert balance(state, P1) == 300
    # the failure is the reference's answer, but a new reversal may succeed later
    state.transfer(Ref("t2"), P2, P1, Fen(200))
    assert state.reversal(Ref("x1"), Ref("r1")).status == "failed"
    assert state.reversal(Ref("x2"), Ref("r1")).status == "applied"
    assert balance(state, P1) == 0


def test_reversal_failures(state: BossState):
    state.recharge(Ref("r1"), P1, Fen(100))
    state.recharge(Ref("failed"), UNKNOWN, Fen(100))
    state.cancel(Ref("cancelled"))
    state.reversal(Ref("x1"), Ref("r1"))
    reasons = {
        ref: state.reversal(Ref(f"y-{ref}"), Ref(ref)).operation
        for ref in ("nowhere", "failed", "cancelled", "r1", "x1")
    }
    assert {ref: op.reason for ref, op in reasons.items() if op} == {
        "nowhere": "original_not_applied",
        "failed": "original_not_applied",
        "cancelled": "original_not_applied",
        "r1": "already_reversed",
        "x1": "original_is_reversal",
    }
    assert balance(state, P1) == 1000


def test_cancel_of_an_unknown_ref_refuses_a_late_apply(state: BossState):
    assert state.cancel(Ref("r1")).status == "cancelled"
    assert state.recharge(Ref("r1"), P1, Fen(500)).status == "cancelled"
    assert state.status(Ref("r1")).status == "cancelled"
    assert state.cancel(Ref("r1")).status == "cancelled"
    assert balance(state, P1) == 1000


def test_cancel_of_a_decided_ref_reports_it(state: BossState):
    state.recharge(Ref("ok"), P1, Fen(500))
    state.recharge(Ref("bad"), UNKNOWN, Fen(500))
    assert state.cancel(Ref("ok")).status == "applied"
    assert state.cancel(Ref("bad")).status == "failed"
    assert balance(state, P1) == 1500
    assert state.recharge(Ref("ok"), P1, Fen(500)).replayed


def test_status_not_found(state: BossState):
    assert state.status(Ref("never")).status == "not_found"


def test_refs_share_one_namespace(state: BossState):
    state.billpay(Ref("same"), B1, Fen(100))
    assert state.status(Ref("same")).status == "applied"
    assert state.recharge(Ref("same"), P1, Fen(100)).status == "conflict"


def test_records_of_one_business_day_in_order(state: BossState, clock: FakeClock):
    # 23:59 UTC on the 13th is 07:59 on the 14th in Shanghai
    clock.now = datetime(2025, 3, 13, 23, 59, tzinfo=UTC)
    state.recharge(Ref("r-b"), P1, Fen(100))
    state.recharge(Ref("r-a"), P2, Fen(200))  # same moment: ordered by ref
    clock.advance(hours=2)
    state.transfer(Ref("t1"), P1, B1, Fen(50))
    state.recharge(Ref("failed"), UNKNOWN, Fen(1))
    state.reversal(Ref("x1"), Ref("r-a"))
    clock.now = datetime(2025, 3, 14, 16, 0, tzinfo=UTC)  # the 15th in Shanghai
    state.billpay(Ref("next-day"), B1, Fen(100))

    rows = list(csv.reader(io.StringIO(state.records(date(2025, 3, 14)))))
    assert rows == [
        ["ref", "kind", "msisdn", "counterparty", "amount", "status", "applied_at"],
        ["r-a", "recharge", P2, "", "200", "applied", "2025-03-13T23:59:00+00:00"],
        ["r-b", "recharge", P1, "", "100", "applied", "2025-03-13T23:59:00+00:00"],
        ["t1", "transfer", P1, B1, "50", "applied", "2025-03-14T01:59:00+00:00"],
        ["x1", "reversal", P2, "r-a", "200", "applied", "2025-03-14T01:59:00+00:00"],
    ]
    assert len(list(csv.reader(io.StringIO(state.records(date(2025, 3, 13)))))) == 1
    assert "next-day" in state.records(date(2025, 3, 15))


def test_records_keep_the_clock_offset_and_day_follows_shanghai():
    clock = FakeClock(datetime(2025, 1, 1, 0, 30, tzinfo=SHANGHAI))
    state = BossState(clock=clock)
    state.put_subscriber(Subscriber(P1, "prepaid", Fen(0)))
    state.recharge(Ref("r1"), P1, Fen(1))
    assert "2025-01-01T00:30:00+08:00" in state.records(date(2025, 1, 1))
    assert "r1" not in state.records(date(2024, 12, 31))
