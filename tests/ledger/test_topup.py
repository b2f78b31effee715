"""The top-up protocol against the real BOSS emulator over HTTP, on SQLite and PostgreSQL:
reserve and record before calling BOSS, then post, void, or keep the reservation when the
outcome is unknown. Every case checks both sides: the agent's deposit and BOSS's balance."""

from __future__ import annotations

from sqlalchemy import func, select

from ledger.schema import operations, transfers
from tests.ledger.conftest import World

PREPAID = "8613900000001"
POSTPAID = "8613700000001"
UNKNOWN = "8613600000000"


async def _count(world: World, table: object) -> int:
    async with world.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def test_topup_posts_and_credits_boss_once_even_when_replayed(world: World) -> None:
    outcome = await world.topup("k1", PREPAID, 5000)
    assert outcome.code == "ok"
    assert outcome.values["balance_fen"] == 45_000
    again = await world.topup("k1", PREPAID, 5000)
    assert (again.code, again.values["ref"]) == ("ok", outcome.values["ref"])
    # the replay shows the balance as the first answer did (receipts print it)
    assert again.values["balance_fen"] == outcome.values["balance_fen"]
    deposit = await world.deposit()
    assert (deposit.balance, deposit.available) == (45_000, 45_000)
    assert world.boss_balance(PREPAID) == 1000 + 5000


async def test_same_key_different_content_is_a_conflict_and_moves_nothing(world: World) -> None:
    assert (await world.topup("k1", PREPAID, 5000)).code == "ok"
    conflict = await world.topup("k1", PREPAID, 6000)
    assert conflict.code == "conflict"
    assert (await world.deposit()).balance == 45_000
    assert world.boss_balance(PREPAID) == 6000


async def test_refusals_before_boss_write_nothing(world: World) -> None:
    cases = [
        (("k-pin", PREPAID, 5000, "999999"), "wrong_pin"),
        (("k-low", PREPAID, 99), "amount_below_min"),
        (("k-high", PREPAID, 50_001), "amount_above_max"),
        (("k-bad", "not-a-number", 5000), "bad_request"),
    ]
    for args, code in cases:
        assert (await world.topup(*args)).code == code  # type: ignore[arg-type]
    assert await _count(world, operations) == 0
    assert (await world.deposit()).available == 50_000
    assert world.boss_balance(PREPAID) == 1000


async def test_boss_refusal_voids_the_reservation(world: World) -> None:
    for key, number, code in (("u", UNKNOWN, "unknown_subscriber"), ("p", POSTPAID, "not_prepaid")):
        outcome = await world.topup(key, number, 5000)
        assert outcome.code == code
    deposit = await world.deposit()
    assert (deposit.balance, deposit.available, deposit.debits_pending) == (50_000, 50_000, 0)
    async with world.engine.connect() as conn:
        kinds = sorted((await conn.execute(select(transfers.c.kind))).scalars())
        states = set((await conn.execute(select(operations.c.state))).scalars())
    assert kinds.count("void") == 2
    assert states == {"failed"}


async def test_insufficient_deposit_is_refused(world: World) -> None:
    assert (await world.topup("a", PREPAID, 50_000)).code == "ok"
    outcome = await world.topup("b", PREPAID, 100)
    assert (outcome.code, outcome.values["available_fen"]) == ("insufficient_funds", 0)
    assert world.boss_balance(PREPAID) == 1000 + 50_000


async def test_boss_error_leaves_the_reservation_for_the_resolver(world: World) -> None:
    await world.set_faults(error_rate=1.0)
    outcome = await world.topup("k", PREPAID, 5000)
    assert outcome.code == "pending"
    deposit = await world.deposit()
    # reserved, not spent: the resolver asks BOSS by reference and posts or voids
    assert (deposit.balance, deposit.available, deposit.debits_pending) == (50_000, 45_000, 5000)
    assert world.boss_balance(PREPAID) == 1000
    async with world.engine.connect() as conn:
        state = (await conn.execute(select(operations.c.state))).scalar_one()
    assert state == "unknown"
    # a replay does not call BOSS again with a new reference, nor post
    assert (await world.topup("k", PREPAID, 5000)).code == "pending"
    assert await _count(world, operations) == 1


async def test_lost_response_applied_at_boss_keeps_the_reservation(world: World) -> None:
    await world.set_faults(lost_response_rate=1.0)
    outcome = await world.topup("k", PREPAID, 5000)
    assert outcome.code == "pending"
    assert world.boss_balance(PREPAID) == 6000  # BOSS applied it
    deposit = await world.deposit()
    assert (deposit.balance, deposit.available) == (50_000, 45_000)  # never voided
