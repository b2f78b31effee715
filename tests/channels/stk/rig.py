"""The SMS channel's rig with the STK gate as its sealed intake, and a provisioned SIM."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.stk.gate import StkCounters, StkGate
from channels.stk.secure import protect
from channels.stk.sims import SimKeyRing, SimProfile, provision
from ledger.money import Msisdn
from ledger.schema import account_balances, operations, transfers
from tests.channels.sms.rig import MERCHANT, Rig, open_rig
from tests.ledger.conftest import PIN_KEYS

RING = SimKeyRing(PIN_KEYS)
NOW_MS = 1_764_115_200_000


@dataclass
class StkRig:
    sms: Rig
    counters: StkCounters
    sim: SimProfile
    next_counter: int = 1

    def seal(self, plaintext: str, counter: int | None = None) -> str:
        """What the SIM sends: the next counter unless one is given."""
        if counter is None:
            counter, self.next_counter = self.next_counter, self.next_counter + 1
        return protect(plaintext, self.sim.sim_id, counter, self.sim.keys)

    async def send(self, text: str, sender: str = MERCHANT, reference: int | None = None) -> None:
        await self.sms.send(text, sender, reference)


async def new_sim(engine: AsyncEngine, msisdn: str = MERCHANT) -> SimProfile:
    profile, _ = await provision(engine, RING, Msisdn(msisdn), service_number="1888", now_ms=NOW_MS)
    return profile


@asynccontextmanager
async def open_stk_rig(
    engine: AsyncEngine, start: bool = True, sim: SimProfile | None = None
) -> AsyncIterator[StkRig]:
    """The rig, with a new SIM for the merchant unless `sim` is given (a restart)."""
    counters = StkCounters()
    gate = StkGate(db=engine, ring=RING, counters=counters)
    async with open_rig(engine, start=start, sealed=gate) as rig:
        yield StkRig(rig, counters, sim or await new_sim(engine))


async def books(engine: AsyncEngine) -> tuple[Any, ...]:
    """What must not change when an answer is refused: every balance, the journal, the
    operations."""
    async with engine.connect() as conn:
        balances = (await conn.execute(select(account_balances))).all()
        journal = (await conn.execute(select(func.count()).select_from(transfers))).scalar()
        ops = (await conn.execute(select(func.count()).select_from(operations))).scalar()
    return tuple(sorted(tuple(row) for row in balances)), journal, ops
