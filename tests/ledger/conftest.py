"""A ledger world: a migrated database with the demo agents, the real BOSS emulator on a
loopback port, and the operation service between them over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from aircharge.demo_data import seed_demo
from aircharge.platform import listen
from ledger.accounts import Account, AccountFlag, create_account, get_account
from ledger.gateways.boss_http import HttpBossGateway
from ledger.money import AccountId, Msisdn
from ledger.operations import LimitDefaults, OperationOutcome, OperationRequest, OperationService
from ledger.operations.context import utc_now
from ledger.operations.contract import Value
from ledger.operations.sms import NOTICES, SmsLink
from ledger.pins import PinKeys, PinPolicy
from ledger.schema import account_balances
from ledger.transfers import Transaction, TransactionResult, TransferRequest
from ledger.verify import verify
from ledger.writer import LedgerWriter
from simulator.boss import BossState, create_boss_app, open_boss_state, seed_demo_subscribers
from simulator.boss import Msisdn as BossMsisdn

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
LIMITED = AccountFlag.DEBITS_MUST_NOT_EXCEED_CREDITS
PIN_KEYS = PinKeys.single(b"test-pin-key")
MERCHANT = Msisdn("8613800000003")
MERCHANT_PIN = "333333"
BOSS_TIMEOUT_MS = 400
DEFAULT_LIMITS = LimitDefaults(100, 50_000)
DEFAULT_PIN_POLICY = PinPolicy()


@dataclass
class World:
    engine: AsyncEngine
    operations: OperationService
    boss_state: BossState
    boss_url: str

    async def topup(
        self, key: str, msisdn: str, amount_fen: int, pin: str = MERCHANT_PIN
    ) -> OperationOutcome:
        request = OperationRequest(
            name="topup",
            actor=MERCHANT,
            params={"msisdn": msisdn, "amount_fen": amount_fen, "pin": pin},
            key=key,
            channel="test",
        )
        return await self.operations.execute(request)

    async def deposit(self, msisdn: Msisdn = MERCHANT) -> Account:
        agent = await self.operations.find_agent(msisdn)
        assert agent is not None
        async with self.engine.connect() as conn:
            return await get_account(conn, agent.deposit_account_id)

    def boss_balance(self, msisdn: str) -> int:
        subscriber = self.boss_state.subscriber(BossMsisdn(msisdn))
        assert subscriber is not None
        return int(subscriber.balance_fen)

    async def set_faults(self, **faults: Any) -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.put(f"{self.boss_url}/boss/faults", json=faults) as response,
        ):
            assert response.status == 200, await response.text()


class Inbox:
    """The SMS the platform would send, kept for the test."""

    def __init__(self) -> None:
        self.codes: list[tuple[str, str]] = []
        self.notices: list[tuple[str, str, dict[str, Value], list[dict[str, Value]]]] = []

    async def send_code(self, msisdn: Msisdn, code: str) -> None:
        self.codes.append((msisdn, code))

    async def notify(
        self,
        msisdn: Msisdn,
        notice: str,
        values: Mapping[str, Value],
        items: Sequence[Mapping[str, Value]] = (),
    ) -> None:
        assert notice in NOTICES, notice
        self.notices.append((msisdn, notice, dict(values), [dict(item) for item in items]))


@asynccontextmanager
async def open_world(
    engine: AsyncEngine,
    limits: LimitDefaults = DEFAULT_LIMITS,
    clock: Callable[[], datetime] | None = None,
    pin_keys: PinKeys = PIN_KEYS,
    pin_policy: PinPolicy = DEFAULT_PIN_POLICY,
    sms: SmsLink | None = None,
) -> AsyncIterator[World]:
    """Demo agents in `engine`, a fresh BOSS emulator on a free port, the service between."""
    await seed_demo(engine, PIN_KEYS)
    state = open_boss_state(None)
    seed_demo_subscribers(state)
    listener = await listen(create_boss_app(state), "127.0.0.1", 0)
    gateway = HttpBossGateway(listener.url, BOSS_TIMEOUT_MS)
    await gateway.start()
    operations = OperationService(
        engine,
        gateway,
        pin_keys,
        limits,
        clock=clock or utc_now,
        pin_policy=pin_policy,
        sms=sms,
    )
    await operations.start()
    try:
        yield World(engine, operations, state, listener.url)
    finally:
        await operations.close()
        await gateway.close()
        await listener.runner.cleanup()
        state.close()


@pytest.fixture
async def world(engine: AsyncEngine) -> AsyncIterator[World]:
    async with open_world(engine) as opened:
        yield opened


LIMITED = AccountFlag.DEBITS_MUST_NOT_EXCEED_CREDITS


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Book:
    engine: AsyncEngine
    writer: LedgerWriter
    clock: Clock
    bank: AccountId
    agent: AccountId
    other: AccountId

    async def run(self, *requests: TransferRequest) -> TransactionResult:
        return await self.writer.execute(Transaction(tuple(requests)))

    async def balance(self, account: AccountId) -> tuple[int, int]:
        async with self.engine.connect() as conn:
            found = await get_account(conn, account)
        return found.balance, found.available


@pytest.fixture
async def book(engine: AsyncEngine) -> AsyncIterator[Book]:
    """A hot bank account and two agent deposits; the first funded with 1000 fen."""
    async with open_book(engine) as opened:
        yield opened


@asynccontextmanager
async def open_book(engine: AsyncEngine) -> AsyncIterator[Book]:
    """The `book` fixture's accounts and writer, on any engine; the journal must verify after."""
    clock = Clock()
    async with engine.begin() as conn:
        bank = await create_account(conn, "bank", "platform", AccountFlag.HOT, T0)
        agent = await create_account(conn, "agent", "deposit", LIMITED, T0)
        other = await create_account(conn, "other", "deposit", LIMITED, T0)
    writer = LedgerWriter(engine, label="test", clock=clock)
    await writer.start()
    book = Book(engine, writer, clock, bank, agent, other)
    (await book.run(TransferRequest.single("fund", bank, agent, 1000))).unwrap()
    try:
        yield book
    finally:
        await writer.close()
        report = await verify(engine)
        assert report.ok, report.problems  # every test leaves a journal that verifies


async def net_balances(conn: AsyncConnection) -> tuple[int, int]:
    """Posted and pending balance summed over every account: (0, 0) when the books balance."""
    posted, pending = (
        await conn.execute(
            select(
                func.sum(account_balances.c.credits_posted - account_balances.c.debits_posted),
                func.sum(account_balances.c.credits_pending - account_balances.c.debits_pending),
            )
        )
    ).one()
    return int(posted or 0), int(pending or 0)
