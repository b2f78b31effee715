"""An API world: a migrated database (SQLite and PostgreSQL) with an agent tree made by
`create_agent`, deposits and commission moved by the `LedgerWriter`, operations run by the
real `OperationService` against the BOSS emulator on a loopback port (with a clock the test
moves), and `/api/v1` served over a real socket by pytest-aiohttp's client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from aircharge.platform import Listener, listen
from ledger.agents import Agent, Level, create_agent
from ledger.gateways.boss_http import HttpBossGateway
from ledger.money import Msisdn
from ledger.operations import LimitDefaults, OperationOutcome, OperationRequest, OperationService
from ledger.pins import PinKeys
from ledger.platform_accounts import ensure_platform_accounts
from ledger.transfers import Transaction, TransferRequest
from ledger.writer import LedgerWriter
from simulator.boss import (
    FAULTS_KEY,
    BossState,
    FaultConfig,
    create_boss_app,
    open_boss_state,
    seed_demo_subscribers,
)
from webadmin.api import API_PREFIX, create_api

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
TOKEN = "test-api-token-7f3a"
PIN_KEYS = PinKeys.single(b"api-test-pin-key")
BOSS_TIMEOUT_MS = 30_000  # held calls are released by the test, never waited out

LEVEL_1 = Msisdn("8613800000001")
LEVEL_2 = Msisdn("8613800000002")
MERCHANT = Msisdn("8613800000003")
PINS = {LEVEL_1: "111111", LEVEL_2: "222222", MERCHANT: "333333"}
DEPOSITS_FEN = {LEVEL_1: 1_000_000, LEVEL_2: 200_000, MERCHANT: 50_000}
MERCHANT_COMMISSION_FEN = 123
PREPAID = ("8613900000001", "8613900000002", "8613900000003")
UNKNOWN_NUMBER = "8613600000000"  # not a BOSS subscriber: BOSS refuses, the top-up fails


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class ApiWorld:
    engine: AsyncEngine
    operations: OperationService
    clock: Clock
    boss: web.Application
    client: TestClient[web.Request, web.Application]
    agents: dict[Msisdn, Agent]
    _keys: int = field(default=0)

    def headers(self, token: str = TOKEN) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def get(self, path: str, **params: str) -> tuple[int, Any]:
        async with self.client.get(
            API_PREFIX + path, params=params, headers=self.headers()
        ) as response:
            return response.status, await response.json()

    async def topup(
        self, actor: Msisdn, msisdn: str, amount_fen: int, channel: str = "test"
    ) -> OperationOutcome:
        self._keys += 1
        request = OperationRequest(
            name="topup",
            actor=actor,
            params={"msisdn": msisdn, "amount_fen": amount_fen, "pin": PINS[actor]},
            key=f"api-test-{self._keys}",
            channel=channel,
        )
        return await self.operations.execute(request)

    def boss_faults(self, **faults: Any) -> None:
        self.boss[FAULTS_KEY].configure(FaultConfig(**faults))

    async def release_held_boss_calls(self) -> None:
        await self.boss[FAULTS_KEY].aclose()


async def seed_agents(engine: AsyncEngine, now: datetime) -> dict[Msisdn, Agent]:
    """Three levels of agents; deposits from the bank and some commission, by the writer."""
    async with engine.begin() as conn:
        platform = await ensure_platform_accounts(conn, now)
        level_1 = await create_agent(
            conn,
            msisdn=LEVEL_1,
            name="Chengguan Telecom Hall",
            level=Level.LEVEL_1,
            parent=None,
            pin=PINS[LEVEL_1],
            pin_keys=PIN_KEYS,
            now=now,
        )
        level_2 = await create_agent(
            conn,
            msisdn=LEVEL_2,
            name="Xiaozhuang Township Store",
            level=Level.LEVEL_2,
            parent=level_1,
            pin=PINS[LEVEL_2],
            pin_keys=PIN_KEYS,
            now=now,
            language="en",
        )
        merchant = await create_agent(
            conn,
            msisdn=MERCHANT,
            name="村口小卖部 No. 3",
            level=Level.MERCHANT,
            parent=level_2,
            pin=PINS[MERCHANT],
            pin_keys=PIN_KEYS,
            now=now,
        )
    created = {LEVEL_1: level_1, LEVEL_2: level_2, MERCHANT: merchant}
    moves = [
        TransferRequest.single(
            f"seed:{number}", platform.bank_clearing, agent.deposit_account_id, DEPOSITS_FEN[number]
        )
        for number, agent in created.items()
    ]
    moves.append(
        TransferRequest.single(
            "seed:commission",
            platform.commission_expense,
            merchant.commission_account_id,
            MERCHANT_COMMISSION_FEN,
        )
    )
    writer = LedgerWriter(engine, label="api-test-seed")
    await writer.start()
    try:
        (await writer.execute(Transaction(tuple(moves)))).unwrap()
    finally:
        await writer.close()
    return created


async def open_boss() -> tuple[BossState, web.Application, Listener]:
    state = open_boss_state(None)
    seed_demo_subscribers(state)
    app = create_boss_app(state)
    return state, app, await listen(app, "127.0.0.1", 0)


ClientFactory = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
async def api(engine: AsyncEngine, aiohttp_client: ClientFactory) -> AsyncIterator[ApiWorld]:
    clock = Clock()
    agents = await seed_agents(engine, clock.now)
    state, boss_app, boss = await open_boss()
    gateway = HttpBossGateway(boss.url, BOSS_TIMEOUT_MS)
    await gateway.start()
    operations = OperationService(
        engine, gateway, PIN_KEYS, LimitDefaults(100, 50_000), clock=clock
    )
    await operations.start()
    app = web.Application()
    app.add_subapp(API_PREFIX, create_api(engine, TOKEN))
    try:
        client = await aiohttp_client(app)
        yield ApiWorld(engine, operations, clock, boss_app, client, agents)
    finally:
        await operations.close()
        await gateway.close()
        await boss.runner.cleanup()
        state.close()


async def eventually(check: Callable[[], Awaitable[bool]], attempts: int = 1000) -> None:
    """Wait for another task to reach a state (bounded; no assertion on elapsed time)."""
    for _ in range(attempts):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the awaited state was never reached")
