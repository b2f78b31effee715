"""`GET /api/v1/agents/{msisdn}`: the agent's place in the tree and its balances in fen,
found by any form of its number."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.webadmin.conftest import (
    DEPOSITS_FEN,
    LEVEL_1,
    LEVEL_2,
    MERCHANT,
    MERCHANT_COMMISSION_FEN,
    PREPAID,
    ApiWorld,
)


async def test_an_agent_with_its_parent_and_balances(api: ApiWorld) -> None:
    status, body = await api.get("/agents/13800000003")
    assert status == 200
    assert body == {
        "msisdn": "8613800000003",
        "name": "村口小卖部 No. 3",
        "level": 3,
        "parent_msisdn": "8613800000002",
        "status": "active",
        "language": "zh-CN",
        "deposit": {"posted_fen": 50_000, "available_fen": 50_000},
        "commission": {
            "posted_fen": MERCHANT_COMMISSION_FEN,
            "available_fen": MERCHANT_COMMISSION_FEN,
        },
    }


async def test_a_level_1_agent_has_no_parent_and_a_level_2_its_language(api: ApiWorld) -> None:
    status, top = await api.get("/agents/13800000001")
    assert status == 200
    assert (top["level"], top["parent_msisdn"]) == (1, None)
    assert top["deposit"] == {"posted_fen": DEPOSITS_FEN[LEVEL_1], "available_fen": 1_000_000}
    assert top["commission"] == {"posted_fen": 0, "available_fen": 0}
    status, middle = await api.get("/agents/13800000002")
    assert status == 200
    assert (middle["level"], middle["parent_msisdn"], middle["language"]) == (2, LEVEL_1, "en")


async def test_posted_and_available_differ_by_what_is_reserved(api: ApiWorld) -> None:
    sold = await api.topup(MERCHANT, PREPAID[0], 2_000)
    assert sold.ok
    api.boss_faults(error_rate=1.0)  # BOSS answers 503: the outcome is unknown, the hold stays
    waiting = await api.topup(MERCHANT, PREPAID[1], 700)
    assert waiting.code == "pending"
    status, body = await api.get("/agents/13800000003")
    assert status == 200
    assert body["deposit"] == {"posted_fen": 48_000, "available_fen": 47_300}
    _, seller = await api.get(f"/agents/{LEVEL_2}")
    assert seller["deposit"]["posted_fen"] == DEPOSITS_FEN[LEVEL_2]  # nobody else moved


@pytest.mark.parametrize(
    "written",
    [
        "13800000003",
        "8613800000003",
        "+8613800000003",
        "+86 138 0000 0003",
        "008613800000003",
        "138-0000-0003",
        "１３８０００００００３",  # full-width digits
    ],
)
async def test_every_form_of_a_number_finds_the_agent(api: ApiWorld, written: str) -> None:
    status, body = await api.get("/agents/" + quote(written, safe=""))
    assert status == 200, body
    assert body["msisdn"] == MERCHANT


async def test_a_number_of_nobody_is_404_with_a_code(api: ApiWorld) -> None:
    status, body = await api.get(f"/agents/{PREPAID[0]}")
    assert status == 404
    assert body == {"error": "unknown_agent", "message": f"no agent has the number {PREPAID[0]}"}


@pytest.mark.parametrize("written", ["12345", "abc", "1380000000x", "+", "13800000003123456"])
async def test_a_malformed_number_is_400(api: ApiWorld, written: str) -> None:
    status, body = await api.get("/agents/" + quote(written, safe=""))
    assert status == 400
    assert (body["error"], body["parameter"]) == ("bad_msisdn", "msisdn")
    assert body["message"].startswith("msisdn: not a valid phone number")


async def test_query_parameters_are_refused_on_an_agent(api: ApiWorld) -> None:
    status, body = await api.get("/agents/13800000003", verbose="1")
    assert status == 400
    assert (body["error"], body["parameter"]) == ("unknown_parameter", "verbose")
