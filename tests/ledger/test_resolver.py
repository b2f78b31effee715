"""The resolver against the real BOSS emulator (SQLite and PostgreSQL): every way a sale's
outcome can be unknown ends settled exactly as BOSS decided it — posted with commissions when
BOSS applied the reference, voided only once BOSS has cancelled it — or, past its age, in
manual review with the money still held. Work survives a crash; two resolvers never both act."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.accounts import get_account
from ledger.gateways.boss_http import HttpBossGateway
from ledger.money import Msisdn
from ledger.operations import OperationService
from ledger.operations.resolver import SweepReport
from ledger.schema import audit_log, operations
from ledger.verify import verify
from tests.ledger.conftest import (
    BOSS_TIMEOUT_MS,
    DEFAULT_LIMITS,
    PIN_KEYS,
    T0,
    Clock,
    World,
    open_world,
)

PREPAID = "8613900000001"


async def _state(world: World) -> tuple[str, int]:
    async with world.engine.connect() as conn:
        row = (await conn.execute(select(operations.c.state, operations.c.attempts))).one()
    return row[0], row[1]


async def _commission(world: World, msisdn: str) -> int:
    agent = await world.operations.find_agent(Msisdn(msisdn))
    assert agent is not None
    async with world.engine.connect() as conn:
        return (await get_account(conn, agent.commission_account_id)).balance


async def test_applied_but_unanswered_is_posted_with_its_commissions(world: World) -> None:
    await world.set_faults(lost_response_rate=1.0)
    assert (await world.topup("k", PREPAID, 10_000)).code == "pending"
    await world.set_faults()
    assert await world.operations.resolve_due() == SweepReport(posted=1)
    assert await _state(world) == ("posted", 0)
    deposit = await world.deposit()
    assert (deposit.balance, deposit.debits_pending) == (40_000, 0)
    assert world.boss_balance(PREPAID) == 11_000
    assert await _commission(world, "8613800000003") == 200
    assert (await world.topup("k", PREPAID, 10_000)).code == "ok"  # the replay now knows
    assert await world.operations.resolve_due() == SweepReport()
    assert (await verify(world.engine)).ok


async def test_never_applied_is_cancelled_at_boss_then_voided(world: World) -> None:
    await world.set_faults(error_rate=1.0)
    assert (await world.topup("k", PREPAID, 10_000)).code == "pending"
    await world.set_faults()
    assert await world.operations.resolve_due() == SweepReport(voided=1)
    assert await _state(world) == ("failed", 0)
    deposit = await world.deposit()
    assert (deposit.balance, deposit.available, deposit.debits_pending) == (50_000, 50_000, 0)
    assert world.boss_balance(PREPAID) == 1_000
    async with world.engine.connect() as conn:
        ref = (await conn.execute(select(operations.c.ref))).scalar_one()
    assert world.boss_state.status(ref).status == "cancelled"  # at BOSS, before the void


async def test_a_late_apply_after_the_cancel_is_refused_by_boss(world: World) -> None:
    await world.set_faults(late_apply_ms=300)
    assert (await world.topup("k", PREPAID, 10_000)).code == "pending"
    await world.set_faults()
    assert await world.operations.resolve_due() == SweepReport(voided=1)
    await asyncio.sleep(0.5)  # the late apply comes, and is refused
    assert world.boss_balance(PREPAID) == 1_000
    assert (await world.deposit()).balance == 50_000


async def test_no_answer_is_asked_again_after_a_capped_backoff(engine: AsyncEngine) -> None:
    clock = Clock(T0)
    async with open_world(engine, clock=clock) as world:
        await world.set_faults(error_rate=1.0)  # the sale, then the cancel, both fail
        assert (await world.topup("k", PREPAID, 10_000)).code == "pending"
        assert await world.operations.resolve_due() == SweepReport(deferred=1)
        assert await _state(world) == ("unknown", 1)
        assert await world.operations.resolve_due() == SweepReport()  # not due yet
        clock.now = T0 + timedelta(seconds=4)
        assert await world.operations.resolve_due() == SweepReport(deferred=1)
        assert await _state(world) == ("unknown", 2)
        await world.set_faults()
        clock.now = T0 + timedelta(seconds=20)
        assert await world.operations.resolve_due() == SweepReport(voided=1)
        assert (await world.deposit()).balance == 50_000


async def test_past_its_age_a_case_goes_to_manual_review_with_the_money_held(
    engine: AsyncEngine,
) -> None:
    clock = Clock(T0)
    async with open_world(engine, clock=clock) as world:
        await world.set_faults(error_rate=1.0)
        assert (await world.topup("k", PREPAID, 10_000)).code == "pending"
        clock.now = T0 + timedelta(hours=1, seconds=1)
        assert await world.operations.resolve_due() == SweepReport(to_manual=1)
        assert (await _state(world))[0] == "manual"
        deposit = await world.deposit()
        assert (deposit.balance, deposit.debits_pending) == (50_000, 10_000)
        async with world.engine.connect() as conn:
            actions = (await conn.execute(select(audit_log.c.action))).scalars().all()
        assert actions == ["to_manual_review"]
        assert await world.operations.resolve_due() == SweepReport()


async def test_a_sale_whose_process_died_mid_call_is_resolved_from_its_record(
    engine: AsyncEngine,
) -> None:
    clock = Clock(T0)
    async with open_world(engine, clock=clock) as world:
        await world.set_faults(timeout_rate=1.0)  # BOSS holds the call and applies nothing
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(world.topup("k", PREPAID, 10_000), 0.2)  # the "crash"
        assert (await _state(world))[0] == "reserved"
        await world.set_faults()
        assert await world.operations.resolve_due() == SweepReport()  # maybe still in flight
    clock.now = T0 + timedelta(seconds=31)
    async with open_world(engine, clock=clock) as restarted:  # a new process, same database
        assert await restarted.operations.resolve_due() == SweepReport(voided=1)
        assert (await restarted.deposit()).balance == 50_000


async def test_two_resolvers_settle_each_case_once(world: World) -> None:
    """Two platform processes on one database and one BOSS (two services here)."""
    gateway = HttpBossGateway(world.boss_url, BOSS_TIMEOUT_MS)
    await gateway.start()
    other = OperationService(world.engine, gateway, PIN_KEYS, DEFAULT_LIMITS)
    await other.start()
    try:
        await world.set_faults(lost_response_rate=1.0)
        for n in range(6):
            assert (await world.topup(f"k{n}", PREPAID, 1_000)).code == "pending"
        await world.set_faults()
        first, second = await asyncio.gather(world.operations.resolve_due(), other.resolve_due())
    finally:
        await other.close()
        await gateway.close()
    assert (first.posted + second.posted, first.voided + second.voided) == (6, 0)
    deposit = await world.deposit()
    assert (deposit.balance, deposit.debits_pending) == (44_000, 0)
    assert await _commission(world, "8613800000003") == 6 * 20
    assert (await verify(world.engine)).ok
