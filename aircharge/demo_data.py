"""The demo data of ARCHITECTURE.md on the platform side: the agent tree and its deposits.

Deposits arrive as transfers from bank clearing, with fixed keys, so seeding twice changes
nothing. The subscribers live in the BOSS emulator (`simulator.boss`), not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger import core
from ledger.agents import Agent, Level, create_agent
from ledger.money import Msisdn
from ledger.operations.context import Clock, utc_now
from ledger.platform_accounts import ensure_platform_accounts


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


async def seed_demo(engine: AsyncEngine, pin_key: bytes, clock: Clock = utc_now) -> None:
    """Create the demo agents and fund their deposits (idempotent)."""
    now = clock()
    async with engine.begin() as conn:
        platform = await ensure_platform_accounts(conn, now)
        created: dict[str, Agent] = {}
        for demo in DEMO_AGENTS:
            agent = await create_agent(
                conn,
                msisdn=demo.msisdn,
                name=demo.name,
                level=demo.level,
                parent=None if demo.parent is None else created[demo.parent],
                pin=demo.pin,
                pin_key=pin_key,
                now=now,
            )
            created[demo.msisdn] = agent
            await core.transfer(
                conn,
                key=f"seed:deposit:{demo.msisdn}",
                debit_account_id=platform.bank_clearing,
                credit_account_id=agent.deposit_account_id,
                amount=demo.deposit_fen,
                now=now,
                meta={"op": "demo_seed"},
            )
