"""The HTTP API: shapes and status codes, and bad input answered 400 without any change."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from simulator.boss import BossState, Fen, Ref, Subscriber
from tests.simulator.boss.helpers import B1, P1, P2, balance, bill_due


async def _post(client, path: str, body: Any) -> tuple[int, Any]:
    response = await client.post(path, json=body)
    return response.status, await response.json()


async def test_recharge_applied(client, state: BossState):
    status, body = await _post(
        client, "/boss/recharge", {"ref": "r1", "msisdn": "139 0000 0001", "amount": 500}
    )
    assert status == 200
    assert body == {
        "ref": "r1",
        "status": "applied",
        "kind": "recharge",
        "amount": 500,
        "msisdn": P1,
        "applied_at": "2025-03-14T09:30:00+08:00",
        "balance": 1500,
    }
    assert balance(state, P1) == 1500


async def test_replay_over_http_credits_once(client, state: BossState):
    request = {"ref": "r1", "msisdn": "13900000001", "amount": 500}
    first = await _post(client, "/boss/recharge", request)
    again = await _post(client, "/boss/recharge", {**request, "msisdn": "+8613900000001"})
    assert first == again
    assert balance(state, P1) == 1500


async def test_conflict_and_cancelled_are_409(client, state: BossState):
    await _post(client, "/boss/recharge", {"ref": "r1", "msisdn": P1, "amount": 500})
    assert await _post(client, "/boss/recharge", {"ref": "r1", "msisdn": P1, "amount": 5}) == (
        409,
        {"ref": "r1", "status": "conflict"},
    )
    response = await client.post("/boss/recharge/c1/cancel")
    assert (response.status, await response.json()) == (200, {"ref": "c1", "status": "cancelled"})
    assert await _post(client, "/boss/recharge", {"ref": "c1", "msisdn": P1, "amount": 5}) == (
        409,
        {"ref": "c1", "status": "cancelled"},
    )
    assert balance(state, P1) == 1500


async def test_definite_failure_is_422(client, state: BossState):
    status, body = await _post(
        client, "/boss/recharge", {"ref": "r1", "msisdn": "13600000000", "amount": 500}
    )
    assert status == 422
    assert body["status"] == "failed"
    assert body["reason"] == "unknown_subscriber"
    assert "balance" not in body
    response = await client.get("/boss/recharge/r1")
    assert response.status == 200
    assert (await response.json())["status"] == "failed"


async def test_billpay_transfer_and_reversal_shapes(client, state: BossState):
    status, body = await _post(
        client, "/boss/billpay", {"ref": "b1", "msisdn": "13700000001", "amount": 6000}
    )
    assert (status, body["bill_due"], body["msisdn"]) == (200, -200, B1)
    status, body = await _post(
        client,
        "/boss/transfer",
        {"ref": "t1", "from": "13900000001", "to": "13900000002", "amount": 300},
    )
    assert status == 200
    assert (body["from"], body["to"], body["balance"], body["to_balance"]) == (P1, P2, 700, 1300)
    status, body = await _post(
        client, "/boss/transfer", {"ref": "t2", "from": P1, "to": B1, "amount": 100}
    )
    assert (body["balance"], body["to_bill_due"]) == (600, -300)
    status, body = await _post(client, "/boss/reversal", {"ref": "x1", "original_ref": "b1"})
    assert status == 200
    assert (body["kind"], body["original_ref"], body["bill_due"]) == ("reversal", "b1", 5700)
    status, body = await _post(client, "/boss/reversal", {"ref": "x2", "original_ref": "b1"})
    assert (status, body["reason"]) == (422, "already_reversed")
    response = await client.get("/boss/recharge/b1")
    assert (await response.json())["reversed_by"] == "x1"
    assert bill_due(state, B1) == 5700


async def test_every_endpoint_takes_any_form_of_a_number(client, state: BossState):
    full_width = "+86 139 0000 0001".translate(
        str.maketrans("0123456789+ ", "０１２３４５６７８９＋　")
    )
    calls = [
        ("/boss/recharge", {"ref": "r1", "msisdn": full_width, "amount": 100}),
        ("/boss/billpay", {"ref": "b1", "msisdn": "0086 137-0000-0001", "amount": 100}),
        (
            "/boss/transfer",
            {"ref": "t1", "from": "86 13900000001", "to": "(139) 0000 0002", "amount": 1},
        ),
    ]
    for path, body in calls:
        status, answer = await _post(client, path, body)
        assert (status, answer["status"]) == (200, "applied"), (path, answer)
    assert (balance(state, P1), balance(state, P2), bill_due(state, B1)) == (1099, 1001, 5700)
    response = await client.get("/boss/subscribers/0086-139-0000-0002")
    assert (await response.json())["balance"] == 1001
    status, answer = await _post(
        client, "/boss/recharge", {"ref": "r2", "msisdn": "139 0000 0001#", "amount": 100}
    )
    assert (status, answer) == (400, {"error": answer["error"]})
    assert "extension" in answer["error"]


async def test_status_of_an_unknown_ref_is_404(client):
    response = await client.get("/boss/recharge/nope")
    assert response.status == 404
    assert await response.json() == {"ref": "nope", "status": "not_found"}


async def test_cancel_answers_the_decided_status(client, state: BossState):
    await _post(client, "/boss/recharge", {"ref": "r1", "msisdn": P1, "amount": 500})
    await _post(client, "/boss/recharge", {"ref": "f1", "msisdn": B1, "amount": 500})
    applied = await client.post("/boss/recharge/r1/cancel")
    failed = await client.post("/boss/recharge/f1/cancel")
    assert (applied.status, (await applied.json())["status"]) == (200, "applied")
    assert (failed.status, (await failed.json())["status"]) == (200, "failed")
    assert balance(state, P1) == 1500


async def test_subscriber_queries(client, state: BossState):
    state.put_subscriber(Subscriber(P2, "prepaid", Fen(0), language="en", status="inactive"))
    full_width = "13900000001".translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    response = await client.get(f"/boss/subscribers/{full_width}")
    assert await response.json() == {
        "msisdn": P1,
        "type": "prepaid",
        "balance": 1000,
        "language": "zh-CN",
        "status": "active",
    }
    response = await client.get("/boss/subscribers/+8613700000001")
    assert await response.json() == {
        "msisdn": B1,
        "type": "postpaid",
        "bill_due": 5800,
        "language": "zh-CN",
        "status": "active",
    }
    body = await (await client.get(f"/boss/subscribers/{P2}")).json()
    assert (body["language"], body["status"]) == ("en", "inactive")
    response = await client.get("/boss/subscribers/13600000000")
    assert response.status == 404
    assert (await response.json())["error"] == "unknown_subscriber"


async def test_records_csv(client, state: BossState):
    state.recharge(Ref("r1"), P1, Fen(100))
    response = await client.get("/boss/records", params={"date": "2025-03-14"})
    assert response.status == 200
    assert response.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert [(row["ref"], row["amount"]) for row in rows] == [("r1", "100")]
    response = await client.get("/boss/records", params={"date": "2025-03-13"})
    assert (await response.text()).splitlines() == [
        "ref,kind,msisdn,counterparty,amount,status,applied_at"
    ]


GOOD: dict[str, dict[str, Any]] = {
    "/boss/recharge": {"ref": "r1", "msisdn": "13900000001", "amount": 100},
    "/boss/billpay": {"ref": "r1", "msisdn": "13700000001", "amount": 100},
    "/boss/transfer": {"ref": "r1", "from": "13900000001", "to": "13900000002", "amount": 100},
    "/boss/reversal": {"ref": "r1", "original_ref": "r0"},
}

BAD_BODIES = [
    ("/boss/recharge", {"msisdn": "13900000001", "amount": 100}, "ref"),
    ("/boss/recharge", {"ref": "r1", "amount": 100}, "msisdn"),
    ("/boss/recharge", {"ref": "r1", "msisdn": "13900000001"}, "amount"),
    ("/boss/recharge", {**GOOD["/boss/recharge"], "amount": 100.0}, "amount"),
    ("/boss/recharge", {**GOOD["/boss/recharge"], "amount": 1.5}, "amount"),
    ("/boss/recharge", {**GOOD["/boss/recharge"], "amount": True}, "amount"),
    ("/boss/recharge", {**GOOD["/boss/recharge"], "amount": "100"}, "amount"),
    ("/boss/recharge", {**GOOD["/boss/recharge"], "amount": 0}, "amount"),
    ("/boss/recharge", {**GOOD["/boss/recharge"], "amount": -100}, "amount"),
    ("/boss/recharge", {**GOOD["/boss/recharge"], "amount": 10**9 + 1}, "amount"),
    ("/boss/recharge", {**GOOD["/boss/recharge"], "msisdn": "phone"}, "msisdn"),
    ("/boss/recharge", {**GOOD["/boss/recharge"], "msisdn": "123"}, "msisdn"),
    ("/boss/recharge", {**GOOD["/boss/recharge"], "msisdn": 13900000001}, "msisdn"),
    ("/boss/recharge", {**GOOD["/boss/recharge"], "ref": ""}, "ref"),
    ("/boss/recharge", {**GOOD["/boss/recharge"], "ref": "a" * 65}, "ref"),
    ("/boss/recharge", {**GOOD["/boss/recharge"], "ref": "a b"}, "ref"),
    ("/boss/recharge", {**GOOD["/boss/recharge"], "ref": 1}, "ref"),
    ("/boss/recharge", {**GOOD["/boss/recharge"], "extra": 1}, "extra"),
    ("/boss/recharge", [GOOD["/boss/recharge"]], "object"),
    ("/boss/billpay", {**GOOD["/boss/billpay"], "amount": 99.5}, "amount"),
    ("/boss/billpay", {**GOOD["/boss/billpay"], "msisdn": None}, "msisdn"),
    ("/boss/transfer", {**GOOD["/boss/transfer"], "from": "x"}, "from"),
    ("/boss/transfer", {**GOOD["/boss/transfer"], "to": "x"}, "to"),
    ("/boss/transfer", {k: v for k, v in GOOD["/boss/transfer"].items() if k != "to"}, "to"),
    ("/boss/transfer", {**GOOD["/boss/transfer"], "amount": False}, "amount"),
    ("/boss/reversal", {"ref": "r1"}, "original_ref"),
    ("/boss/reversal", {**GOOD["/boss/reversal"], "original_ref": "a/b"}, "original_ref"),
]


def _snapshot(state: BossState) -> tuple[object, ...]:
    return (state.subscribers(), state.status(Ref("r1")), state.status(Ref("r0")))


@pytest.mark.parametrize(("path", "body", "named"), BAD_BODIES)
async def test_bad_bodies_answer_400_and_change_nothing(
    client, state: BossState, path: str, body: Any, named: str
):
    before = _snapshot(state)
    status, answer = await _post(client, path, body)
    assert status == 400
    assert named in answer["error"]
    assert _snapshot(state) == before


@pytest.mark.parametrize("path", sorted(GOOD))
@pytest.mark.parametrize("data", [b"not json", b"", b'{"ref": ', b"\xff\xfe"])
async def test_bodies_that_are_not_json_answer_400(client, state: BossState, path, data):
    before = _snapshot(state)
    response = await client.post(path, data=data, headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert "JSON" in (await response.json())["error"]
    assert _snapshot(state) == before


@pytest.mark.parametrize("path", sorted(GOOD))
async def test_the_good_bodies_are_good(client, path):
    response = await client.post(path, json=GOOD[path])
    assert response.status in (200, 422)


@pytest.mark.parametrize(
    ("method", "path", "named"),
    [
        ("GET", "/boss/recharge/a%20b", "ref"),
        ("POST", "/boss/recharge/a%20b/cancel", "ref"),
        ("GET", "/boss/subscribers/telephone", "msisdn"),
        ("GET", "/boss/records", "date"),
        ("GET", "/boss/records?date=2025-02-30", "date"),
        ("GET", "/boss/records?date=14.03.2025", "date"),
    ],
)
async def test_bad_paths_and_queries_answer_400(client, state: BossState, method, path, named):
    before = _snapshot(state)
    response = await client.request(method, path)
    assert response.status == 400
    assert named in (await response.json())["error"]
    assert _snapshot(state) == before
    assert state.status(Ref("a b")).status == "not_found"
