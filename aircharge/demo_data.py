"""The demo data of ARCHITECTURE.md on the platform side: the agent tree and its deposits.

Deposits arrive as transfers from bank clearing, with fixed keys, so seeding twice changes
nothing. The subscribers live in the BOSS emulator (`simulator.boss`), not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from aircharge.config import DatabaseConfig
from aircharge.database import create_engine, upgrade
from ledger.agents import Agent, Level, create_agent
from ledger.money import Msisdn
from ledger.operations.context import Clock, utc_now
from ledger.pins import PinKeys
from ledger.platform_accounts import ensure_platform_accounts
from ledger.transfers import Transaction, TransferRequest
from ledger.writer import LedgerWriter


@dataclass(frozen=True, slots=True)
class DemoAgent:
    msisdn: Msisdn
    name: str
    level: Level
    pin: str
    deposit_fen: int
    parent: Msisdn | None


DEMO_AGENTS: Final = (
    DemoAgent(
        Msisdn("8613800000001"), "Chengguan Telecom Hall", Level.LEVEL_1, "111111", 1_000_000, None
    ),
    DemoAgent(
        Msisdn("8613800000002"),
        "Xiaozhuang Township Store",
        Level.LEVEL_2,
        "222222",
        200_000,
        Msisdn("8613800000001"),
    ),
    DemoAgent(
        Msisdn("8613800000003"),
        "Village Shop No. 3",
        Level.MERCHANT,
        "333333",
        50_000,
        Msisdn("8613800000002"),
    ),
)


async def migrated_demo_database(database: DatabaseConfig, pin_keys: PinKeys) -> None:
    """Bring the schema up to date and add the demo agents (the demo and the channel benches)."""
    engine = create_engine(database)
    try:
        await upgrade(engine)
        await seed_demo(engine, pin_keys)
    finally:
        await engine.dispose()


async def seed_demo(engine: AsyncEngine, pin_keys: PinKeys, clock: Clock = utc_now) -> None:
    """Create the demo agents and fund their deposits from the bank (idempotent)."""
    now = clock()
    async with engine.begin() as conn:
        platform = await ensure_platform_accounts(conn, now)
        created: dict[str, Agent] = {}
        for demo in DEMO_AGENTS:
            created[demo.msisdn] = await create_agent(
                conn,
                msisdn=demo.msisdn,
                name=demo.name,
                level=demo.level,
                parent=None if demo.parent is None else created[demo.parent],
                pin=demo.pin,
                pin_keys=pin_keys,
                now=now,
            )
    deposits = tuple(
        TransferRequest.single(
            f"seed:deposit:{demo.msisdn}",
            platform.bank_clearing,
            created[demo.msisdn].deposit_account_id,
            demo.deposit_fen,
            meta={"op": "demo_seed"},
        )
        for demo in DEMO_AGENTS
    )
    writer = LedgerWriter(engine, label="seed-demo", clock=clock)
    await writer.start()
    try:
        (await writer.execute(Transaction(deposits))).unwrap()
    finally:
        await writer.close()
