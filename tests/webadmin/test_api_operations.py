"""`GET /api/v1/transactions` and `GET /api/v1/outcomes`: operations made by the real
top-up path (posted, failed at BOSS, unknown, still reserved), their fields, filters and the
refusals of bad parameters and methods."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from ledger.money import Msisdn
from tests.webadmin.conftest import (
    LEVEL_2,
    MERCHANT,
    PREPAID,
    T0,
    UNKNOWN_NUMBER,
    ApiWorld,
    eventually,
)
from webadmin.api import API_PREFIX
from webadmin.api.params import Cursor


def _at(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat(timespec="microseconds")


async def _history(api: ApiWorld) -> list[tuple[str, str]]:
    """Five operations a minute apart: (ref, state) in the order they were made.

    t+60 merchant → P1 ¥20 posted · t+120 level-2 → P2 ¥5 posted · t+180 merchant → unknown
    number, failed at BOSS · t+240 merchant → P2 ¥7 unknown (BOSS 503) · t+300 level-2 → P3
    ¥3 unknown."""
    made: list[tuple[str, str]] = []
    plan: list[tuple[Msisdn, str, int]] = [
        (MERCHANT, PREPAID[0], 2_000),
        (LEVEL_2, PREPAID[1], 500),
        (MERCHANT, UNKNOWN_NUMBER, 1_000),
        (MERCHANT, PREPAID[1], 700),
        (LEVEL_2, PREPAID[2], 300),
    ]
    for step, (actor, number, amount) in enumerate(plan):
        api.clock.advance(60)
        if step == 3:
            api.boss_faults(error_rate=1.0)
        outcome = await api.topup(actor, number, amount)
        made.append((str(outcome.values["ref"]), outcome.code))
    assert [code for _, code in made] == ["ok", "ok", "unknown_subscriber", "pending", "pending"]
    return made


async def test_transactions_newest_first_with_every_field(api: ApiWorld) -> None:
    made = await _history(api)
    status, body = await api.get("/transactions")
    assert status == 200
    refs = [ref for ref, _ in made]
    assert body["next_cursor"] is None
    assert [item["ref"] for item in body["items"]] == refs[::-1]
    failed = body["items"][2]
    assert failed == {
        "ref": refs[2],
        "kind": "topup",
        "channel": "test",
        "agent_msisdn": MERCHANT,
        "msisdn": UNKNOWN_NUMBER,
        "amount_fen": 1_000,
        "state": "failed",
        "reason": "unknown_subscriber",
        "created_at": _at(180),
        "updated_at": _at(180),
    }
    states = [(i["agent_msisdn"], i["msisdn"], i["amount_fen"], i["state"]) for i in body["items"]]
    assert states == [
        (LEVEL_2, PREPAID[2], 300, "unknown"),
        (MERCHANT, PREPAID[1], 700, "unknown"),
        (MERCHANT, UNKNOWN_NUMBER, 1_000, "failed"),
        (LEVEL_2, PREPAID[1], 500, "posted"),
        (MERCHANT, PREPAID[0], 2_000, "posted"),
    ]
    assert body["items"][0]["reason"] is not None  # why the outcome is unknown
    assert body["items"][4]["reason"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"agent": "13800000003"}, [3, 2, 0]),
        ({"agent": "+86 138 0000 0002"}, [4, 1]),
        ({"msisdn": "139 0000 0002"}, [3, 1]),
        ({"agent": "13800000003", "msisdn": "8613900000002"}, [3]),
        ({"since": _at(180)}, [4, 3, 2]),  # inclusive
        ({"since": "2026-11-26T16:03:00.000001+08:00"}, [4, 3]),  # another offset, same instant
        ({"since": "2026-11-26T08:04:00Z", "agent": "13800000002"}, [4]),
        ({"agent": "13800000001"}, []),  # an agent who sold nothing
        ({"msisdn": "13900000009"}, []),
    ],
)
async def test_transactions_filters(
    api: ApiWorld, params: dict[str, str], expected: list[int]
) -> None:
    refs = [ref for ref, _ in await _history(api)]
    status, body = await api.get("/transactions", **params)
    assert status == 200, body
    assert [item["ref"] for item in body["items"]] == [refs[i] for i in expected]


async def test_outcomes_pending_oldest_first_and_settled_ones_left_out(api: ApiWorld) -> None:
    refs = [ref for ref, _ in await _history(api)]
    status, body = await api.get("/outcomes", state="pending")
    assert status == 200
    assert [(i["ref"], i["state"]) for i in body["items"]] == [
        (refs[3], "unknown"),
        (refs[4], "unknown"),
    ]
    assert body["items"][0]["created_at"] == _at(240)
    assert (await api.get("/outcomes"))[1] == body  # pending is the default
    status, manual = await api.get("/outcomes", state="manual")
    assert (status, manual) == (200, {"items": [], "next_cursor": None})


async def test_a_reservation_waiting_on_boss_is_pending(api: ApiWorld) -> None:
    api.boss_faults(timeout_rate=1.0)  # BOSS holds the call without answering
    sale = asyncio.create_task(api.topup(MERCHANT, PREPAID[0], 900))

    async def reserved() -> bool:
        _, body = await api.get("/outcomes", state="pending")
        return bool(body["items"])

    await eventually(reserved)
    _, body = await api.get("/outcomes", state="pending")
    (item,) = body["items"]
    assert (item["state"], item["amount_fen"], item["msisdn"]) == ("reserved", 900, PREPAID[0])
    await api.release_held_boss_calls()  # BOSS gives up: 503, the outcome becomes unknown
    assert (await sale).code == "pending"
    _, body = await api.get("/outcomes", state="pending")
    assert [(i["ref"], i["state"]) for i in body["items"]] == [(item["ref"], "unknown")]


async def test_pages_follow_the_cursor(api: ApiWorld) -> None:
    refs = [ref for ref, _ in await _history(api)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "2"} | ({} if cursor is None else {"cursor": cursor})
        status, body = await api.get("/transactions", **params)
        assert status == 200
        assert len(body["items"]) <= 2
        seen += [item["ref"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert (pages, seen) == (3, refs[::-1])
    status, first = await api.get("/transactions", limit="5")
    assert (len(first["items"]), first["next_cursor"]) == (5, None)  # exactly full: no next


BAD_TRANSACTIONS: list[tuple[dict[str, str], str, str]] = [
    ({"agnet": "13800000003"}, "agnet", "unknown_parameter"),
    ({"state": "pending"}, "state", "unknown_parameter"),
    ({"agent": ""}, "agent", "bad_parameter"),
    ({"agent": "12"}, "agent", "bad_msisdn"),
    ({"msisdn": "not a number"}, "msisdn", "bad_msisdn"),
    ({"since": "yesterday"}, "since", "bad_parameter"),
    ({"since": "2026-11-26T08:00:00"}, "since", "bad_parameter"),  # no offset
    ({"since": "2026-11-26T08:00:00 08:00"}, "since", "bad_parameter"),  # '+' sent unencoded
    ({"limit": "0"}, "limit", "bad_parameter"),
    ({"limit": "501"}, "limit", "bad_parameter"),
    ({"limit": "ten"}, "limit", "bad_parameter"),
    ({"limit": " 5"}, "limit", "bad_parameter"),
    ({"limit": "1_0"}, "limit", "bad_parameter"),
    ({"cursor": "garbage!"}, "cursor", "bad_parameter"),
    ({"cursor": Cursor("ocpending", T0, 1).encode()}, "cursor", "bad_parameter"),
    ({"cursor": "dHguOTk5OTk5OTk5OTk5OTk5OTk5LjE"}, "cursor", "bad_parameter"),  # past year 9999
]


@pytest.mark.parametrize(("params", "parameter", "code"), BAD_TRANSACTIONS)
async def test_bad_transactions_parameters_are_400_naming_the_parameter(
    api: ApiWorld, params: dict[str, str], parameter: str, code: str
) -> None:
    status, body = await api.get("/transactions", **params)
    assert status == 400, body
    assert (body["error"], body["parameter"]) == (code, parameter)
    assert body["message"].startswith(f"{parameter}: ")


async def test_a_cursor_it_handed_out_is_accepted(api: ApiWorld) -> None:
    status, body = await api.get("/transactions", cursor=Cursor("tx", T0, 1).encode())
    assert (status, body) == (200, {"items": [], "next_cursor": None})


async def test_a_repeated_parameter_is_400(api: ApiWorld) -> None:
    url = API_PREFIX + "/transactions?agent=13800000003&agent=13800000002"
    async with api.client.get(url, headers=api.headers()) as response:
        assert response.status == 400
        body = await response.json()
    assert (body["parameter"], body["message"]) == ("agent", "agent: given more than once")


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"state": "unknown"}, "state"),
        ({"state": ""}, "state"),
        ({"agent": "13800000003"}, "agent"),
        ({"limit": "-1"}, "limit"),
        ({"cursor": Cursor("tx", T0, 1).encode()}, "cursor"),
        ({"state": "manual", "cursor": Cursor("ocpending", T0, 1).encode()}, "cursor"),
    ],
)
async def test_bad_outcomes_parameters_are_400(
    api: ApiWorld, params: dict[str, str], parameter: str
) -> None:
    status, body = await api.get("/outcomes", **params)
    assert status == 400, body
    assert body["parameter"] == parameter


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@pytest.mark.parametrize("path", ["/agents/13800000003", "/transactions", "/outcomes"])
async def test_only_get_is_served(api: ApiWorld, method: str, path: str) -> None:
    async with api.client.request(method, API_PREFIX + path, headers=api.headers()) as response:
        assert response.status == 405
        assert response.headers["Allow"] == "GET"
        assert response.headers["Content-Type"].startswith("application/json")
        body: Any = None if method == "HEAD" else await response.json()
    if body is not None:
        assert body["error"] == "method_not_allowed"


async def test_an_unknown_path_is_a_json_404(api: ApiWorld) -> None:
    for path in ("", "/", "/agents", "/agents/13800000003/extra", "/v2"):
        async with api.client.get(API_PREFIX + path, headers=api.headers()) as response:
            assert response.status == 404, path
            assert (await response.json())["error"] == "not_found"


async def test_answers_are_not_cached(api: ApiWorld) -> None:
    async with api.client.get(API_PREFIX + "/transactions", headers=api.headers()) as response:
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
