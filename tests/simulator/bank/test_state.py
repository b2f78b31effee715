"""The bank emulator's book: bookings, request-id idempotency, statements per Shanghai day,
the notification schedule, and all of it kept across a reopen of its SQLite file."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from simulator.bank import BankState, RequestConflictError, TransferRequest
from simulator.bank.model import COLLECTION_ACCOUNT, Fen
from simulator.bank.state import STATEMENT_HEADER
from tests.simulator.boss.helpers import FakeClock

# 23:50 on 13 March in UTC is 07:50 on 14 March in Shanghai.
T0 = datetime(2025, 3, 13, 23, 50, tzinfo=UTC)


def pay(reference: str = "13800000003", amount: int = 1000, request_id: str | None = None):
    return TransferRequest("张三", "6222000011112222", reference, Fen(amount), request_id)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def state(tmp_path: Path, clock: FakeClock):
    opened = BankState(tmp_path / "bank.db", clock=clock)
    yield opened
    opened.close()


def test_a_booking_owes_the_platform_a_notification(state: BankState):
    booking = state.book(pay(amount=1234))
    transfer = booking.transfer
    assert not booking.replayed
    assert transfer.txn_id == "BK20250314000001"
    assert (transfer.delivery, transfer.attempts, transfer.delivered_at) == ("pending", 0, None)
    assert transfer.value_date == date(2025, 3, 14)
    [due] = state.due()
    assert due.txn_id == transfer.txn_id
    body = json.loads(due.body)
    assert body == {
        "txn_id": "BK20250314000001",
        "amount": 1234,
        "currency": "CNY",
        "payer_name": "张三",
        "payer_account": "6222000011112222",
        "reference": "13800000003",
        "value_date": "2025-03-14",
        "booked_at": "2025-03-14T07:50:00+08:00",
    }
    assert state.notification(transfer.txn_id) == due.body
    assert state.balance_fen() == 1234


def test_request_ids_make_bookings_idempotent(state: BankState):
    first = state.book(pay(request_id="r-1")).transfer
    again = state.book(pay(request_id="r-1"))
    assert again.replayed
    assert again.transfer == first
    with pytest.raises(RequestConflictError) as raised:
        state.book(pay(amount=999, request_id="r-1"))
    assert raised.value.txn_id == first.txn_id
    assert state.balance_fen() == 1000  # neither the replay nor the conflict booked
    assert state.book(pay()).transfer.txn_id != state.book(pay()).transfer.txn_id


def test_the_schedule_backs_off_and_ends(state: BankState, clock: FakeClock):
    txn_id = state.book(pay()).transfer.txn_id
    state.failed(txn_id, "503", timedelta(seconds=2))
    assert state.due() == []
    assert state.next_due_at() == clock.now + timedelta(seconds=2)
    clock.advance(seconds=2)
    [due] = state.due()
    assert due.attempts == 1
    state.delivered(txn_id, "200")
    transfer = state.transfer(txn_id)
    assert transfer is not None
    assert (transfer.delivery, transfer.attempts, transfer.last_status) == ("delivered", 2, "200")
    assert state.next_due_at() is None
    other = state.book(pay()).transfer.txn_id
    state.failed(other, "401", None)
    abandoned = state.transfer(other)
    assert abandoned is not None
    assert (abandoned.delivery, state.due()) == ("abandoned", [])


def test_postponed_notifications_wait(state: BankState, clock: FakeClock):
    txn_id = state.book(pay()).transfer.txn_id
    state.postpone(txn_id, clock.now + timedelta(minutes=5))
    assert state.due() == []
    clock.advance(minutes=5)
    assert [due.txn_id for due in state.due()] == [txn_id]


def test_everything_survives_a_reopen(tmp_path: Path, clock: FakeClock):
    path = tmp_path / "bank.db"
    first = BankState(path, clock=clock)
    owed = first.book(pay(amount=500)).transfer
    done = first.book(pay(amount=700, request_id="r-9")).transfer
    first.delivered(done.txn_id, "200")
    first.close()
    reopened = BankState(path, clock=clock)
    try:
        assert [due.txn_id for due in reopened.due()] == [owed.txn_id]
        assert reopened.book(pay(amount=700, request_id="r-9")).replayed
        assert reopened.balance_fen() == 1200
        assert reopened.book(pay()).transfer.txn_id == "BK20250314000003"
    finally:
        reopened.close()


def test_the_statement_holds_one_shanghai_day(state: BankState, clock: FakeClock):
    before = state.book(pay('a, "quoted" ref', 100)).transfer  # 14 March, 07:50 Shanghai
    clock.now = datetime(2025, 3, 14, 15, 59, 59, tzinfo=UTC)  # 23:59:59 Shanghai
    late = state.book(pay("13800000002", 200)).transfer
    clock.now = datetime(2025, 3, 14, 16, 0, tzinfo=UTC)  # 00:00 on the 15th in Shanghai
    state.book(pay("13800000001", 300))
    rows = list(csv.reader(io.StringIO(state.statement(date(2025, 3, 14)))))
    assert tuple(rows[0]) == STATEMENT_HEADER
    assert rows[1:] == [
        [
            before.txn_id,
            "2025-03-14T07:50:00+08:00",
            "2025-03-14",
            COLLECTION_ACCOUNT,
            "100",
            "CNY",
            "张三",
            "6222000011112222",
            'a, "quoted" ref',
        ],
        [
            late.txn_id,
            "2025-03-14T23:59:59+08:00",
            "2025-03-14",
            COLLECTION_ACCOUNT,
            "200",
            "CNY",
            "张三",
            "6222000011112222",
            "13800000002",
        ],
    ]
    assert len(list(csv.reader(io.StringIO(state.statement(date(2025, 3, 15)))))) == 2
    assert state.statement(date(2025, 3, 13)).splitlines() == [",".join(STATEMENT_HEADER)]
