"""Deposits by bank transfer, end to end over loopback HTTP: the real bank emulator books a
transfer and notifies the platform's real `/bank/notify` route, which runs the deposit
operation on SQLite and PostgreSQL. Refusals and replays are checked to write nothing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from aircharge.platform import Listener, listen
from ledger.accounts import get_account
from ledger.gateways.bank import (
    SIGNATURE_HEADER,
    BankNotification,
    parse_notification,
    verify_signature,
)
from ledger.gateways.bank_http import HttpBankGateway, add_bank_notify_route
from ledger.money import Msisdn
from ledger.platform_accounts import SUSPENSE
from ledger.schema import accounts, operations, transfers
from ledger.verify import verify
from simulator.bank import (
    BankState,
    BankTransfer,
    Notifier,
    TransferRequest,
    create_bank_app,
    notification_body,
    sign,
)
from simulator.bank.model import Fen
from simulator.bank.state import shanghai_now
from tests.ledger.conftest import MERCHANT, World

SECRET = b"test-bank-secret"
LOOPBACK = (ip_network("127.0.0.1/32"), ip_network("::1/128"))
TOLERANCE_S = 300
DELIVERY_WAIT_S = 20.0  # generous: the machine is shared; the test never waits this long


@dataclass
class Platform:
    """The platform's notify route on its own loopback port, restartable on the same port."""

    world: World
    networks: tuple[Any, ...] = LOOPBACK
    listener: Listener | None = None
    port: int = 0

    async def start(self) -> None:
        app = web.Application()
        add_bank_notify_route(app, self.world.operations.deposit, SECRET, self.networks, 300)
        self.listener = await listen(app, "127.0.0.1", self.port)
        self.port = self.listener.port

    async def stop(self) -> None:
        assert self.listener is not None
        await self.listener.runner.cleanup()
        self.listener = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Bank:
    """The bank emulator on a loopback port with its SQLite file; restartable."""

    path: Path
    state: BankState | None = None
    notifier: Notifier | None = None
    listener: Listener | None = None

    async def start(self, platform_url: str) -> None:
        self.state = BankState(self.path)
        self.notifier = Notifier(self.state, SECRET, retry_initial_ms=20, retry_max_ms=200)
        self.listener = await listen(create_bank_app(self.state, self.notifier), "127.0.0.1", 0)
        self.notifier.start(platform_url)

    async def stop(self) -> None:
        assert self.notifier is not None
        assert self.listener is not None
        assert self.state is not None
        await self.notifier.close()
        await self.listener.runner.cleanup()
        self.state.close()
        self.state = self.notifier = self.listener = None

    @property
    def url(self) -> str:
        assert self.listener is not None
        return self.listener.url

    async def pay(self, agent: str, amount: int, **extra: Any) -> dict[str, Any]:
        body = {
            "payer_name": "张三",
            "payer_account": "6222000011112222",
            "agent_msisdn": agent,
            "amount": amount,
            **extra,
        }
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.url}/bank/transfers", json=body) as response,
        ):
            assert response.status in (200, 201), await response.text()
            answer: dict[str, Any] = await response.json()
            return answer

    def transfer(self, txn_id: str) -> BankTransfer:
        assert self.state is not None
        found = self.state.transfer(txn_id)
        assert found is not None
        return found

    async def wait_for(self, txn_id: str, done: Callable[[BankTransfer], bool]) -> BankTransfer:
        deadline = asyncio.get_running_loop().time() + DELIVERY_WAIT_S
        while not done(transfer := self.transfer(txn_id)):
            assert asyncio.get_running_loop().time() < deadline, transfer
            await asyncio.sleep(0.01)
        return transfer

    async def delivered(self, txn_id: str) -> BankTransfer:
        return await self.wait_for(txn_id, lambda t: t.delivery == "delivered")


@pytest.fixture
async def platform(world: World) -> AsyncIterator[Platform]:
    running = Platform(world)
    await running.start()
    yield running
    if running.listener is not None:
        await running.stop()


@pytest.fixture
async def bank(platform: Platform, tmp_path: Path) -> AsyncIterator[Bank]:
    running = Bank(tmp_path / "bank.db")
    await running.start(platform.url)
    yield running
    if running.state is not None:
        await running.stop()


async def balance(world: World, msisdn: Msisdn = MERCHANT) -> int:
    return (await world.deposit(msisdn)).balance


async def suspense_balance(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        account_id = (
            await conn.execute(select(accounts.c.id).where(accounts.c.code == SUSPENSE))
        ).scalar_one()
        return (await get_account(conn, account_id)).balance


async def snapshot(engine: AsyncEngine) -> tuple[int, int, int]:
    """What a refusal must leave unchanged: transfers, operations, and the suspense balance."""
    async with engine.connect() as conn:
        n_transfers = (await conn.execute(select(func.count()).select_from(transfers))).scalar()
        n_operations = (await conn.execute(select(func.count()).select_from(operations))).scalar()
    return int(n_transfers or 0), int(n_operations or 0), await suspense_balance(engine)


async def deposit_rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        query = select(operations).where(operations.c.kind == "deposit").order_by(operations.c.id)
        return list((await conn.execute(query)).all())


def notification_json(txn_id: str, amount: int, reference: str = "13800000003") -> bytes:
    body = {
        "txn_id": txn_id,
        "amount": amount,
        "currency": "CNY",
        "payer_name": "李四",
        "payer_account": "6222000033334444",
        "reference": reference,
        "value_date": "2026-11-26",
        "booked_at": "2026-11-26T10:00:00+08:00",
    }
    return json.dumps(body, ensure_ascii=False).encode()


async def notify(
    url: str, body: bytes, header: str | None = None, *, at: int | None = None
) -> tuple[int, dict[str, Any]]:
    """POST a notification as a bank would; signed now (or `at`) unless a header is given."""
    if header is None:
        header = sign(SECRET, body, int(time.time()) if at is None else at)
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: header}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/bank/notify", data=body, headers=headers) as response,
    ):
        return response.status, await response.json()


async def assert_verifies(engine: AsyncEngine) -> None:
    report = await verify(engine)
    assert report.ok, report.problems


# -- the happy path ------------------------------------------------------------------------


async def test_a_bank_transfer_raises_the_agents_deposit(world: World, bank: Bank):
    before = await balance(world)
    paid = await bank.pay("138 0000 0003", 12_345)
    assert paid["notification"]["state"] in ("pending", "delivered")
    delivered = await bank.delivered(paid["txn_id"])
    assert delivered.last_status == "200"
    assert await balance(world) == before + 12_345
    [row] = await deposit_rows(world.engine)
    assert (row.key, row.kind, row.channel, row.state) == (
        f"bank:{paid['txn_id']}",
        "deposit",
        "bank",
        "posted",
    )
    assert (row.msisdn, row.amount, row.reason) == (MERCHANT, 12_345, None)
    assert row.agent_id is not None
    assert row.ref.startswith("AC")
    await assert_verifies(world.engine)


async def test_redeliveries_apply_once(world: World, bank: Bank, platform: Platform):
    async with (
        aiohttp.ClientSession() as http,
        http.put(f"{bank.url}/bank/faults", json={"duplicate_deliveries": 3}) as response,
    ):
        assert response.status == 200
    before = await balance(world)
    paid = await bank.pay("13800000003", 5_000)
    await bank.delivered(paid["txn_id"])
    assert bank.state is not None
    body = bank.state.notification(paid["txn_id"])
    assert body is not None
    # Once more by hand, after the emulator's own duplicates: still one credit, answered 200.
    status, answer = await notify(platform.url, body)
    assert (status, answer["status"]) == (200, "duplicate")
    assert await balance(world) == before + 5_000
    assert len(await deposit_rows(world.engine)) == 1
    await assert_verifies(world.engine)


async def test_two_deliveries_racing_credit_once(world: World, platform: Platform):
    before = await balance(world)
    body = notification_json("RACE-1", 777)
    answers = await asyncio.gather(*(notify(platform.url, body) for _ in range(8)))
    statuses = sorted(answer["status"] for _, answer in answers)
    assert {status for status, _ in answers} == {200}
    assert statuses == ["credited"] + ["duplicate"] * 7
    assert await balance(world) == before + 777
    await assert_verifies(world.engine)


async def test_unknown_agent_money_goes_to_suspense(world: World, bank: Bank):
    before = await suspense_balance(world.engine)
    unknown = await bank.pay("13900000009", 2_000)  # a subscriber, not an agent
    garbled = await bank.pay("for shop no 3", 300)  # no number at all
    for paid in (unknown, garbled):
        delivered = await bank.delivered(paid["txn_id"])
        assert delivered.last_status == "200"
    assert await suspense_balance(world.engine) == before + 2_300
    rows = await deposit_rows(world.engine)
    assert [(r.agent_id, r.msisdn, r.reason, r.state) for r in rows] == [
        (None, "8613900000009", "unknown_agent", "suspense"),
        (None, "", "unknown_agent", "suspense"),
    ]
    await assert_verifies(world.engine)


# -- refusals write nothing ----------------------------------------------------------------


async def test_same_txn_id_with_other_content_is_a_conflict(world: World, platform: Platform):
    status, first = await notify(platform.url, notification_json("TX-9", 1_000))
    assert (status, first["status"]) == (200, "credited")
    before = await snapshot(world.engine), await balance(world)
    for body in (
        notification_json("TX-9", 1_001),
        notification_json("TX-9", 1_000, reference="13800000002"),
    ):
        status, answer = await notify(platform.url, body)
        assert (status, answer["error"], answer["ref"]) == (409, "conflict", first["ref"])
    assert (await snapshot(world.engine), await balance(world)) == before
    await assert_verifies(world.engine)


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (None, "wrong secret"),
        ("", "empty"),
        ("t=1,v1=zz", "malformed"),
        ("v1=" + "0" * 64, "no timestamp"),
    ],
)
async def test_bad_signatures_are_refused(
    world: World, platform: Platform, header: str | None, why: str
):
    body = notification_json("SIG-1", 1_000)
    if header is None:
        header = sign(b"not-the-secret", body, int(time.time()))
    before = await snapshot(world.engine), await balance(world)
    status, answer = await notify(platform.url, body, header)
    assert status == 401, (why, answer)
    assert (await snapshot(world.engine), await balance(world)) == before


async def test_a_signature_over_other_bytes_is_refused(world: World, platform: Platform):
    signed = notification_json("SIG-2", 1_000)
    header = sign(SECRET, signed, int(time.time()))
    tampered = notification_json("SIG-2", 100_000)
    before = await snapshot(world.engine)
    status, _ = await notify(platform.url, tampered, header)
    assert status == 401
    assert await snapshot(world.engine) == before


@pytest.mark.parametrize("offset_s", [-(TOLERANCE_S + 5), TOLERANCE_S + 5])
async def test_stale_or_future_timestamps_are_refused(
    world: World, platform: Platform, offset_s: int
):
    body = notification_json("OLD-1", 1_000)
    before = await snapshot(world.engine)
    status, answer = await notify(platform.url, body, at=int(time.time()) + offset_s)
    assert status == 401
    assert "outside" in answer["error"]
    assert await snapshot(world.engine) == before


async def test_sources_outside_the_allow_list_are_refused(world: World):
    elsewhere = Platform(world, networks=(ip_network("10.0.0.0/8"),))
    await elsewhere.start()
    try:
        before = await snapshot(world.engine)
        status, answer = await notify(elsewhere.url, notification_json("SRC-1", 1_000))
    finally:
        await elsewhere.stop()
    assert status == 403
    assert "not an allowed bank address" in answer["error"]
    assert await snapshot(world.engine) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": 10.5}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"currency": "USD"}, "currency"),
        ({"txn_id": "has space"}, "txn_id"),
        ({"txn_id": "x" * 65}, "txn_id"),
        ({"reference": ""}, "reference"),
        ({"value_date": "26/11/2026"}, "value_date"),
        ({"booked_at": "2026-11-26T10:00:00"}, "booked_at"),
        ({"payer_name": None}, "payer_name"),
    ],
)
async def test_malformed_bodies_are_refused_naming_the_field(
    world: World, platform: Platform, change: dict[str, Any], field: str
):
    body = json.loads(notification_json("BAD-1", 1_000)) | change
    before = await snapshot(world.engine)
    status, answer = await notify(platform.url, json.dumps(body).encode())
    assert status == 400
    assert field in answer["error"]
    assert await snapshot(world.engine) == before


async def test_a_missing_field_is_named(world: World, platform: Platform):
    body = json.loads(notification_json("BAD-2", 1_000))
    del body["payer_account"]
    status, answer = await notify(platform.url, json.dumps(body).encode())
    assert (status, answer["error"]) == (400, "missing field 'payer_account'")


# -- at least once -------------------------------------------------------------------------


async def test_the_bank_retries_until_the_platform_is_back(
    world: World, platform: Platform, bank: Bank
):
    before = await balance(world)
    await platform.stop()
    paid = await bank.pay("13800000003", 4_200)
    failing = await bank.wait_for(paid["txn_id"], lambda t: t.attempts >= 2)
    assert failing.delivery == "pending"
    assert failing.last_status is not None
    assert not failing.last_status.startswith("2")
    assert await balance(world) == before
    await platform.start()  # the same port again
    await bank.delivered(paid["txn_id"])
    assert await balance(world) == before + 4_200
    await assert_verifies(world.engine)


async def test_pending_notifications_survive_a_restart_of_the_bank(
    world: World, platform: Platform, bank: Bank
):
    before = await balance(world)
    await platform.stop()
    paid = await bank.pay("13800000003", 999)
    await bank.wait_for(paid["txn_id"], lambda t: t.attempts >= 1)
    await bank.stop()  # the emulator goes away with the notification owed
    await platform.start()
    assert await balance(world) == before
    await bank.start(platform.url)  # reopened from its file
    delivered = await bank.delivered(paid["txn_id"])
    assert delivered.attempts >= 2
    assert await balance(world) == before + 999
    assert len(await deposit_rows(world.engine)) == 1


async def test_a_platform_refusal_is_retried_not_dropped(world: World, tmp_path: Path):
    """The bank signs with a secret the platform does not know: 401, kept pending."""
    platform = Platform(world)
    await platform.start()
    state = BankState(tmp_path / "other.db")
    notifier = Notifier(state, b"wrong-secret", retry_initial_ms=20, retry_max_ms=50)
    try:
        notifier.start(platform.url)
        booked = state.book(TransferRequest("A", "1", "13800000003", Fen(100))).transfer
        notifier.wake()
        deadline = asyncio.get_running_loop().time() + DELIVERY_WAIT_S
        while (found := state.transfer(booked.txn_id)) is not None and found.attempts < 2:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.01)
        assert found is not None
        assert (found.delivery, found.last_status) == ("pending", "401")
        assert await deposit_rows(world.engine) == []
    finally:
        await notifier.close()
        state.close()
        await platform.stop()


# -- the statement -------------------------------------------------------------------------


async def test_the_statement_lists_the_days_transfers(world: World, bank: Bank):
    first = await bank.pay("13800000003", 100)
    second = await bank.pay("13800000002", 250, request_id="r-2")
    gateway = HttpBankGateway(bank.url, timeout_ms=2_000)
    await gateway.start()
    try:
        lines = await gateway.statement(shanghai_now().date())
        other_day = await gateway.statement(datetime(2001, 1, 1, tzinfo=UTC).date())
    finally:
        await gateway.close()
    assert [(line.txn_id, line.amount, line.reference) for line in lines] == [
        (first["txn_id"], 100, "13800000003"),
        (second["txn_id"], 250, "13800000002"),
    ]
    assert other_day == ()


def test_the_notification_is_what_the_emulator_signs():
    """The platform's parser reads the emulator's bytes field for field."""
    booked_at = datetime(2026, 11, 26, 1, 2, 3, tzinfo=UTC)  # 09:02:03 in Shanghai
    body = notification_body(
        "BK20261126000001", TransferRequest("王五", "6222", "13800000003", Fen(500)), booked_at
    )
    verify_signature(SECRET, sign(SECRET, body, 1_000), body, 1_000.0, TOLERANCE_S)
    parsed = parse_notification(body)
    assert parsed == BankNotification(
        txn_id="BK20261126000001",
        amount=parsed.amount,
        currency="CNY",
        payer_name="王五",
        payer_account="6222",
        reference="13800000003",
        value_date=datetime(2026, 11, 26).date(),
        booked_at=booked_at,
    )
    assert parsed.amount == 500
    assert parsed.agent_number == MERCHANT
