"""Agents for the benches that sell: the demo tree's level-1 and level-2 agents (created
unless already there) and many merchants under them, each funded from the bank far beyond
any run, so that a bench measures selling and never meets an empty deposit."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.agents import Agent, Level, create_agent
from ledger.money import Msisdn
from ledger.pins import PinKeys
from ledger.platform_accounts import ensure_platform_accounts
from ledger.transfers import Transaction, TransferRequest
from ledger.writer import LedgerWriter

LEVEL1 = Msisdn("8613800000001")  # the demo's numbers: `seed_demo` may have made them already
LEVEL2 = Msisdn("8613800000002")


def merchant_number(index: int) -> str:
    """The bench merchants' national numbers: 135 0000 0000 and on."""
    return f"135{index:08d}"


async def seed_merchants(
    engine: AsyncEngine, pin_keys: PinKeys, count: int, *, pin: str, funding_fen: int
) -> list[Agent]:
    """`count` merchants under the demo level-2 agent, funded in one transaction."""
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        platform = await ensure_platform_accounts(conn, now)

        async def agent(number: str, level: Level, parent: Agent | None) -> Agent:
            return await create_agent(
                conn, msisdn=Msisdn(number), name=f"bench {number}", level=level,
                parent=parent, pin=pin, pin_keys=pin_keys, now=now,
            )  # fmt: skip

        top = await agent(LEVEL1, Level.LEVEL_1, None)
        middle = await agent(LEVEL2, Level.LEVEL_2, top)
        merchants = [
            await agent("86" + merchant_number(n), Level.MERCHANT, middle) for n in range(count)
        ]
    funding = tuple(
        TransferRequest.single(
            f"bench:fund:{a.msisdn}", platform.bank_clearing, a.deposit_account_id, funding_fen
        )
        for a in merchants
    )
    writer = LedgerWriter(engine, label="bench-funding")
    await writer.start()
    try:
        (await writer.execute(Transaction(funding))).unwrap()
    finally:
        await writer.close()
    return merchants


__all__ = ["merchant_number", "seed_merchants"]
