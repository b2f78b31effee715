"""The bank emulator's HTTP API: bookings, their status, statements, faults, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from simulator.bank import STATE_KEY, BankState, Notifier, create_bank_app
from tests.simulator.boss.helpers import FakeClock

GOOD = {
    "payer_name": "Li Si",
    "payer_account": "6222000011112222",
    "agent_msisdn": "13800000003",
    "amount": 10_000,
}


@pytest.fixture
async def client(aiohttp_client, tmp_path: Path):
    state = BankState(tmp_path / "bank.db", clock=FakeClock(datetime(2025, 3, 14, 2, tzinfo=UTC)))
    notifier = Notifier(state, b"secret")  # never started: nothing is delivered here
    yield await aiohttp_client(create_bank_app(state, notifier))
    state.close()


async def test_a_transfer_is_booked_and_can_be_looked_up(client):
    response = await client.post("/bank/transfers", json=GOOD | {"request_id": "r-1"})
    assert response.status == 201
    booked = await response.json()
    assert booked["amount"] == 10_000
    assert booked["agent_msisdn"] == "13800000003"
    assert booked["value_date"] == "2025-03-14"
    assert booked["notification"] == {
        "state": "pending",
        "attempts": 0,
        "last_status": None,
        "delivered_at": None,
    }
    again = await client.post("/bank/transfers", json=GOOD | {"request_id": "r-1"})
    assert (again.status, await again.json()) == (200, booked)
    conflict = await client.post("/bank/transfers", json=GOOD | {"amount": 1, "request_id": "r-1"})
    assert conflict.status == 409
    assert (await conflict.json())["txn_id"] == booked["txn_id"]
    found = await client.get(f"/bank/transfers/{booked['txn_id']}")
    assert (found.status, await found.json()) == (200, booked)
    missing = await client.get("/bank/transfers/BK0")
    assert missing.status == 404
    account = await (await client.get("/bank/account")).json()
    assert account["balance"] == 10_000


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**GOOD, "amount": 0}, "amount must be between 1"),
        ({**GOOD, "amount": 1.5}, "amount must be an integer number of fen"),
        ({**GOOD, "agent_msisdn": " "}, "agent_msisdn must be a non-empty string"),
        ({**GOOD, "agent_msisdn": "1" * 65}, "agent_msisdn is longer than 64"),
        ({**GOOD, "payer_name": "a\nb"}, "payer_name must not hold control characters"),
        ({**GOOD, "request_id": "has space"}, "request_id must be 1 to 64"),
        ({**GOOD, "colour": "red"}, "unexpected field 'colour'"),
        ({k: v for k, v in GOOD.items() if k != "payer_account"}, "missing field 'payer_account'"),
        ([1, 2], "the body must be a JSON object"),
    ],
)
async def test_bad_transfers_are_refused_naming_the_field(client, body, message):
    response = await client.post("/bank/transfers", json=body)
    assert response.status == 400
    assert message in (await response.json())["error"]
    account = await (await client.get("/bank/account")).json()
    assert account["balance"] == 0


async def test_the_statement_is_csv_and_needs_a_date(client):
    await client.post("/bank/transfers", json=GOOD)
    response = await client.get("/bank/statement", params={"date": "2025-03-14"})
    assert response.status == 200
    assert response.content_type == "text/csv"
    lines = (await response.text()).splitlines()
    assert len(lines) == 2
    assert lines[1].endswith(",10000,CNY,Li Si,6222000011112222,13800000003")
    for query in ({}, {"date": "14/03/2025"}, {"date": "2025-02-30"}):
        bad = await client.get("/bank/statement", params=query)
        assert bad.status == 400


async def test_faults_are_set_and_read(client):
    response = await client.put("/bank/faults", json={"duplicate_deliveries": 2})
    assert (await response.json()) == {"duplicate_deliveries": 2, "delay_ms": 0}
    assert (await (await client.get("/bank/faults")).json())["duplicate_deliveries"] == 2
    bad = await client.put("/bank/faults", json={"delay_ms": -1})
    assert bad.status == 400
    assert "delay_ms" in (await bad.json())["error"]


async def test_a_delay_fault_holds_new_notifications_back(client):
    state = client.server.app[STATE_KEY]
    await client.put("/bank/faults", json={"delay_ms": 60_000})
    delayed = await (await client.post("/bank/transfers", json=GOOD)).json()
    assert state.due() == []
    await client.put("/bank/faults", json={})
    prompt = await (await client.post("/bank/transfers", json=GOOD)).json()
    assert [due.txn_id for due in state.due()] == [prompt["txn_id"]]
    assert delayed["txn_id"] != prompt["txn_id"]
