"""Seeded fault injection: reproducible, and only on the mutating endpoints."""

from __future__ import annotations

import asyncio
import random

import aiohttp
import pytest
from aiohttp import web

from simulator.boss import FAULTS_KEY, BossState, FaultConfig
from simulator.boss.faults import Fault, FaultInjector, FaultPlan
from tests.simulator.boss.helpers import P1, balance

SHORT = aiohttp.ClientTimeout(total=0.2)
ZERO = {
    "latency_ms": 0,
    "timeout_rate": 0.0,
    "error_rate": 0.0,
    "lost_response_rate": 0.0,
    "late_apply_rate": 0.0,
    "late_apply_ms": 0,
    "seed": 0,
}


async def _faults(client, **settings) -> None:
    response = await client.put("/boss/faults", json=settings)
    assert response.status == 200, await response.text()


def _recharge(ref: str, amount: int = 100) -> dict[str, object]:
    return {"ref": ref, "msisdn": P1, "amount": amount}


async def _status(client, ref: str) -> str:
    return str((await (await client.get(f"/boss/recharge/{ref}")).json())["status"])


async def test_faults_default_to_zero_and_read_back(client):
    assert await (await client.get("/boss/faults")).json() == ZERO
    settings = {**ZERO, "error_rate": 0.25, "latency_ms": 5, "seed": 42}
    await _faults(client, **settings)
    assert await (await client.get("/boss/faults")).json() == settings
    await _faults(client, seed=1)  # a PUT replaces everything: absent keys are zero
    assert await (await client.get("/boss/faults")).json() == {**ZERO, "seed": 1}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"error_rate": 1.5}, "error_rate"),
        ({"timeout_rate": -0.1}, "timeout_rate"),
        ({"lost_response_rate": "0.5"}, "lost_response_rate"),
        ({"error_rate": True}, "error_rate"),
        ({"error_rate": 0.6, "timeout_rate": 0.6}, "must not exceed 1"),
        ({"late_apply_rate": 0.1}, "late_apply_rate needs late_apply_ms"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"latency_ms": 1.5}, "latency_ms"),
        ({"late_apply_ms": 10**9}, "late_apply_ms"),
        ({"seed": 0.5}, "seed"),
        ({"errors": 1}, "errors"),
        ([], "object"),
    ],
)
async def test_bad_fault_settings_answer_400_and_change_nothing(client, body, named):
    await _faults(client, error_rate=0.5, seed=3)
    before = await (await client.get("/boss/faults")).json()
    response = await client.put("/boss/faults", json=body)
    assert response.status == 400
    assert named in (await response.json())["error"]
    assert await (await client.get("/boss/faults")).json() == before


async def test_error_rate_one_applies_nothing_and_spares_queries(client, state: BossState):
    await _faults(client, error_rate=1)
    for path, body in [
        ("/boss/recharge", _recharge("r1")),
        ("/boss/billpay", {"ref": "b1", "msisdn": "13700000001", "amount": 100}),
        ("/boss/transfer", {"ref": "t1", "from": P1, "to": "13900000002", "amount": 100}),
        ("/boss/reversal", {"ref": "x1", "original_ref": "r1"}),
        ("/boss/recharge/c1/cancel", None),
    ]:
        response = await client.post(path, json=body)
        assert response.status == 503, path
    assert balance(state, P1) == 1000
    for ref in ("r1", "b1", "t1", "x1", "c1"):
        assert await _status(client, ref) == "not_found"
    assert (await client.get(f"/boss/subscribers/{P1}")).status == 200
    assert (await client.get("/boss/records?date=2025-03-14")).status == 200
    assert (await client.get("/boss/faults")).status == 200


async def test_bad_input_is_answered_before_any_fault(client):
    await _faults(client, error_rate=1)
    response = await client.post("/boss/recharge", json=_recharge("r1", amount=0))
    assert response.status == 400


async def test_lost_response_applies_but_never_answers(client, state: BossState):
    await _faults(client, lost_response_rate=1)
    with pytest.raises(TimeoutError):
        await client.post("/boss/recharge", json=_recharge("r1"), timeout=SHORT)
    assert balance(state, P1) == 1100
    assert await _status(client, "r1") == "applied"
    await _faults(client)
    response = await client.post("/boss/recharge", json=_recharge("r1"))  # the platform retries
    assert response.status == 200
    assert balance(state, P1) == 1100


async def test_timeout_neither_answers_nor_applies(client, state: BossState):
    await _faults(client, timeout_rate=1)
    with pytest.raises(TimeoutError):
        await client.post("/boss/recharge", json=_recharge("r1"), timeout=SHORT)
    assert balance(state, P1) == 1000
    assert await _status(client, "r1") == "not_found"


async def test_late_apply_answers_503_then_applies(client, state: BossState):
    await _faults(client, late_apply_ms=20)
    response = await client.post("/boss/recharge", json=_recharge("r1"))
    assert response.status == 503
    assert await _status(client, "r1") == "not_found"
    await client.app[FAULTS_KEY].settle()
    assert await _status(client, "r1") == "applied"
    assert balance(state, P1) == 1100


async def test_cancel_before_a_late_apply_refuses_it(client, state: BossState):
    await _faults(client, late_apply_ms=50)
    assert (await client.post("/boss/recharge", json=_recharge("r1"))).status == 503
    await _faults(client)  # the resolver's cancel gets through
    response = await client.post("/boss/recharge/r1/cancel")
    assert (await response.json())["status"] == "cancelled"
    await client.app[FAULTS_KEY].settle()
    assert await _status(client, "r1") == "cancelled"
    assert balance(state, P1) == 1000


async def test_latency_delays_mutating_calls(client):
    await _faults(client, latency_ms=100)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await client.post("/boss/recharge", json=_recharge("r1"))).status == 200
    assert loop.time() - started >= 0.1


async def _pattern(client, refs: list[str]) -> list[int]:
    return [(await client.post("/boss/recharge", json=_recharge(ref))).status for ref in refs]


async def test_a_seed_reproduces_the_same_faults(client, state: BossState):
    await _faults(client, error_rate=0.5, seed=7)
    first = await _pattern(client, [f"a{n}" for n in range(20)])
    await _faults(client, error_rate=0.5, seed=7)
    second = await _pattern(client, [f"b{n}" for n in range(20)])
    await _faults(client, error_rate=0.5, seed=8)
    other = await _pattern(client, [f"c{n}" for n in range(20)])
    assert first == second
    assert set(first) == {200, 503}
    assert other != first
    assert balance(state, P1) == 1000 + 100 * (first + second + other).count(200)


def test_the_plan_maps_one_draw_per_call_onto_the_rates():
    config = FaultConfig(timeout_rate=0.2, error_rate=0.3, lost_response_rate=0.1, seed=99)
    plan = FaultPlan(config)
    draws = random.Random(99)
    for _ in range(200):
        draw = draws.random()
        expected = (
            Fault.TIMEOUT
            if draw < 0.2
            else Fault.ERROR
            if draw < 0.5
            else Fault.LOST_RESPONSE
            if draw < 0.6
            else Fault.NONE
        )
        assert plan.next_fault() is expected


def test_late_apply_takes_the_calls_no_other_fault_took():
    plan = FaultPlan(FaultConfig(error_rate=0.5, late_apply_ms=10, seed=1))
    faults = {plan.next_fault() for _ in range(100)}
    assert faults == {Fault.ERROR, Fault.LATE_APPLY}


async def test_shutdown_releases_held_calls_without_applying():
    injector = FaultInjector()
    injector.configure(FaultConfig(timeout_rate=1))
    applied: list[int] = []
    held = asyncio.create_task(
        injector.run(lambda: applied.append(1), lambda _: web.json_response({}))
    )
    await asyncio.sleep(0)
    assert not held.done()
    await injector.aclose()
    response = await asyncio.wait_for(held, timeout=1)
    assert response.status == 503
    assert applied == []


async def test_shutdown_drops_late_applies_not_yet_made():
    injector = FaultInjector()
    injector.configure(FaultConfig(late_apply_ms=60_000))
    applied: list[int] = []
    response = await injector.run(lambda: applied.append(1), lambda _: web.json_response({}))
    assert response.status == 503
    await asyncio.wait_for(injector.aclose(), timeout=1)
    assert applied == []


async def test_a_late_apply_rate_makes_only_that_share_late(client):
    await _faults(client, late_apply_rate=0.25, late_apply_ms=1, seed=7)
    answers = []
    for n in range(200):
        body = {"ref": f"LR{n}", "msisdn": "13900000001", "amount": 1}
        answers.append((await client.post("/boss/recharge", json=body)).status)
    late = answers.count(503)
    assert answers.count(200) + late == 200
    assert 30 <= late <= 70  # about a quarter
