"""Money invariants under random top-up traffic (hypothesis), against the real BOSS emulator
over HTTP with injected faults: errors, lost responses, wrong PINs, unknown and postpaid
numbers, replays of the same key with the same and with altered content.

After every step, whatever happened:
- the ledger balances: posted and pending counters each sum to zero over all accounts, and
  `ledger verify` (chains, balances recomputed from the journal) finds nothing;
- the merchant's deposit is its start less what is posted, and its reservation is exactly
  what waits on an unknown outcome;
- every posted operation is applied at BOSS, every failed one is not, and BOSS credited
  subscribers exactly what it applied (no money created or lost on either side);
- a key names at most one operation, and a replay never reaches BOSS a second time.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ledger.schema import operations
from ledger.verify import verify
from simulator.boss import Ref
from tests.conftest import migrated_engine, require_postgres
from tests.ledger.conftest import MERCHANT_PIN, World, net_balances, open_world

NUMBERS = ("8613900000001", "8613900000002", "8613700000001", "8613600000000")
PREPAID_START = {"8613900000001": 1000, "8613900000002": 1000}
DEPOSIT_START = 50_000


@dataclass(frozen=True)
class Call:
    key: int
    number: str
    amount_fen: int
    right_pin: bool
    fault: str  # none | error | lost


calls = st.builds(
    Call,
    key=st.integers(0, 5),
    number=st.sampled_from(NUMBERS),
    amount_fen=st.sampled_from([50, 100, 2_000, 5_000, 20_000, 50_000, 60_000]),
    right_pin=st.sampled_from([True, True, True, False]),
    fault=st.sampled_from(["none", "none", "error", "lost"]),
)

FAULTS = {"none": {}, "error": {"error_rate": 1.0}, "lost": {"lost_response_rate": 1.0}}


async def _check(world: World) -> None:
    async with world.engine.connect() as conn:
        posted, pending = await net_balances(conn)
        rows = (await conn.execute(select(operations))).all()
    assert (int(posted), int(pending)) == (0, 0)
    report = await verify(world.engine)
    assert report.ok, report.problems
    assert len({row.key for row in rows}) == len(rows)
    spent = sum(row.amount for row in rows if row.state == "posted")
    waiting = sum(row.amount for row in rows if row.state in ("reserved", "unknown"))
    deposit = await world.deposit()
    assert deposit.balance == DEPOSIT_START - spent
    assert deposit.debits_pending == waiting
    credited_at_boss = 0
    for row in rows:
        status = world.boss_state.status(Ref(row.ref)).status
        if row.state == "posted":
            assert status == "applied", row
        if row.state == "failed":
            assert status != "applied", row
        if status == "applied":
            assert row.state in ("posted", "unknown"), row
            credited_at_boss += row.amount
    credited = sum(world.boss_balance(n) - start for n, start in PREPAID_START.items())
    assert credited == credited_at_boss


async def _scenario(kind: str, script: list[Call]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        async with migrated_engine(kind, Path(directory)) as engine, open_world(engine) as world:
            for call in script:
                await world.set_faults(**FAULTS[call.fault])
                pin = MERCHANT_PIN if call.right_pin else "000000"
                outcome = await world.topup(f"k{call.key}", call.number, call.amount_fen, pin)
                assert outcome.code != "bad_request"
                await _check(world)


@pytest.mark.parametrize(("kind", "examples"), [("sqlite", 40), ("postgresql", 10)])
def test_random_traffic_keeps_money_whole(kind: str, examples: int) -> None:
    if kind == "postgresql":
        require_postgres()

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(script=st.lists(calls, min_size=1, max_size=12))
    def run(script: list[Call]) -> None:
        asyncio.run(_scenario(kind, script))

    run()
