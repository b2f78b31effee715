"""Who is asking, through real operations (SQLite and PostgreSQL): wrong PINs counted and the
lockout with its expiry and audit, the per-source throttle that keeps one guesser from
locking agents out, PINs re-hashed under a rotated key, and changing a PIN."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.money import Msisdn
from ledger.operations import OperationOutcome, OperationRequest
from ledger.pins import PinKeys, PinPolicy, seal
from ledger.schema import agents, audit_log, operations
from tests.ledger.conftest import MERCHANT, PIN_KEYS, T0, Clock, World, open_world

LEVEL1, LEVEL2 = Msisdn("8613800000001"), Msisdn("8613800000002")
POLICY = PinPolicy(attempts_max=3, lockout_minutes=30, source_failures_max=4)


async def _balance(
    world: World, pin: str, actor: Msisdn = MERCHANT, origin: str = "", key: str = "b"
) -> OperationOutcome:
    request = OperationRequest("balance", actor, {"pin": pin}, key, "wap", origin=origin)
    return await world.operations.execute(request)


async def _stored(world: World, actor: Msisdn) -> tuple[str, int]:
    async with world.engine.connect() as conn:
        row = (
            await conn.execute(
                select(agents.c.pin_hash, agents.c.pin_failures).where(agents.c.msisdn == actor)
            )
        ).one()
    return row[0], row[1]


async def _audit(world: World) -> list[tuple[str, str, dict[str, object]]]:
    async with world.engine.connect() as conn:
        rows = (await conn.execute(select(audit_log).order_by(audit_log.c.id))).all()
    return [(row.action, row.subject, json.loads(row.detail)) for row in rows]


async def test_three_wrong_pins_lock_for_thirty_minutes_and_the_lockout_is_audited(
    engine: AsyncEngine,
) -> None:
    clock = Clock(T0)
    async with open_world(engine, clock=clock, pin_policy=POLICY) as world:
        first = await _balance(world, "999999")
        second = await _balance(world, "999998")
        assert [(o.code, o.values["attempts_left"]) for o in (first, second)] == [
            ("wrong_pin", 2),
            ("wrong_pin", 1),
        ]
        locked = await _balance(world, "999997")
        assert (locked.code, locked.values["minutes"]) == ("pin_locked", 30)
        clock.now = T0 + timedelta(minutes=29)
        still = await _balance(world, "333333")  # the right PIN does not open a lock
        assert (still.code, still.values["minutes"]) == ("pin_locked", 1)
        clock.now = T0 + timedelta(minutes=30, seconds=1)
        assert (await _balance(world, "333333")).code == "ok"
        assert await _stored(world, MERCHANT) == ((await _stored(world, MERCHANT))[0], 0)
        [(action, subject, detail)] = await _audit(world)
        assert (action, subject, detail["failures"]) == ("pin_locked", MERCHANT, 3)
        assert "333333" not in json.dumps(detail)


async def test_a_right_pin_resets_the_count(engine: AsyncEngine) -> None:
    async with open_world(engine, pin_policy=POLICY) as world:
        assert (await _balance(world, "999999")).code == "wrong_pin"
        assert (await _balance(world, "999999")).code == "wrong_pin"
        assert (await _balance(world, "333333")).code == "ok"
        assert (await _stored(world, MERCHANT))[1] == 0
        assert (await _balance(world, "999999")).values["attempts_left"] == 2


async def test_one_source_guessing_across_agents_is_stopped_before_it_locks_anyone(
    engine: AsyncEngine,
) -> None:
    clock = Clock(T0)
    async with open_world(engine, clock=clock, pin_policy=POLICY) as world:
        guesser = "203.0.113.7"
        for actor in (MERCHANT, MERCHANT, LEVEL2, LEVEL2):
            assert (await _balance(world, "999999", actor, guesser)).code == "wrong_pin"
        stopped = await _balance(world, "111111", LEVEL1, guesser)  # even the right PIN
        assert stopped.code == "too_many_attempts"
        assert (await _stored(world, LEVEL1))[1] == 0  # counted against nobody
        assert (await _balance(world, "333333", MERCHANT, "198.51.100.1")).code == "ok"
        assert (await _balance(world, "222222", LEVEL2)).code == "ok"  # nobody is locked
        clock.now = T0 + timedelta(minutes=10, seconds=1)
        assert (await _balance(world, "111111", LEVEL1, guesser)).code == "ok"


async def test_unknown_numbers_count_against_the_source(engine: AsyncEngine) -> None:
    async with open_world(engine, pin_policy=POLICY) as world:
        for n in range(4):
            outcome = await _balance(world, "999999", Msisdn(f"861360000000{n}"), "x")
            assert outcome.code == "unknown_agent"
        assert (await _balance(world, "333333", MERCHANT, "x")).code == "too_many_attempts"


async def test_a_pin_checked_under_a_retired_key_is_stored_under_the_current_one(
    engine: AsyncEngine,
) -> None:
    async with open_world(engine) as world:
        assert (await _stored(world, MERCHANT))[0].startswith("v2$k1$")
    rotated = PinKeys("k2", {"k1": PIN_KEYS.current, "k2": b"the-next-key"})
    async with open_world(engine, pin_keys=rotated) as world:
        assert (await _balance(world, "333333")).code == "ok"
        assert (await _stored(world, MERCHANT))[0].startswith("v2$k2$")
        assert (await _balance(world, "333333", key="again")).code == "ok"


async def test_a_seal_from_before_a_rotation_is_refused_but_is_no_guess(
    engine: AsyncEngine,
) -> None:
    old_seal = seal(PIN_KEYS, MERCHANT, "333333")
    rotated = PinKeys("k2", {"k1": PIN_KEYS.current, "k2": b"the-next-key"})
    async with open_world(engine, pin_keys=rotated, pin_policy=POLICY) as world:
        assert (await _balance(world, old_seal)).code == "wrong_pin"
        assert (await _stored(world, MERCHANT))[1] == 0
        assert (await _balance(world, seal(rotated, MERCHANT, "333333"))).code == "ok"


async def _change(
    world: World, old: str, new: str, key: str = "c", actor: Msisdn = MERCHANT
) -> OperationOutcome:
    params = {"old_pin": seal(PIN_KEYS, actor, old), "new_pin": seal(PIN_KEYS, actor, new)}
    return await world.operations.execute(
        OperationRequest("change_pin", actor, params, key, "ussd")
    )


async def test_change_pin_refuses_weak_and_same_pins_and_is_idempotent(
    engine: AsyncEngine,
) -> None:
    async with open_world(engine, pin_policy=POLICY) as world:
        assert (await _change(world, "333333", "123456", "w")).code == "weak_pin"
        assert (await _change(world, "999999", "135790", "x")).code == "wrong_pin"
        assert (await _change(world, "333333", "135790")).code == "ok"
        assert (await _change(world, "333333", "135790")).code == "ok"  # a replay
        assert (await _stored(world, MERCHANT))[1] == 0  # the replay was no guess
        assert (await _change(world, "135790", "135790", "s")).code == "same_pin"
        assert (await _balance(world, "333333")).code == "wrong_pin"
        assert (await _balance(world, "135790", key="b2")).code == "ok"
        actions = [(action, subject) for action, subject, _ in await _audit(world)]
        assert actions == [("pin_changed", MERCHANT)]


async def test_check_pin_signs_in_and_counts_wrong_pins_like_an_operation(
    engine: AsyncEngine,
) -> None:
    async with open_world(engine, pin_policy=POLICY) as world:
        service = world.operations
        ok = await service.check_pin(MERCHANT, "333333", channel="wap", origin="wap@10.0.0.1")
        assert ok.code == "ok"
        wrong = await service.check_pin(MERCHANT, "999999", channel="wap", origin="wap@10.0.0.1")
        assert (wrong.code, wrong.values["attempts_left"]) == ("wrong_pin", 2)
        assert (await _stored(world, MERCHANT))[1] == 1
        # the same source's count as the operations': three more wrong PINs from there
        # (one through an operation) and it is not heard, even with a right PIN
        await service.check_pin(LEVEL1, "999999", channel="wap", origin="wap@10.0.0.1")
        await service.check_pin(LEVEL2, "999999", channel="wap", origin="wap@10.0.0.1")
        assert (await _balance(world, "999999", LEVEL2, origin="wap@10.0.0.1")).code == (
            "wrong_pin"
        )
        throttled = await service.check_pin(LEVEL1, "111111", channel="wap", origin="wap@10.0.0.1")
        assert throttled.code == "too_many_attempts"
        elsewhere = await service.check_pin(LEVEL1, "111111", channel="wap", origin="wap@10.0.0.2")
        assert elsewhere.code == "ok"
        unknown = await service.check_pin(
            Msisdn("8613900000001"), "123456", channel="wap", origin="wap@10.0.0.3"
        )
        assert unknown.code == "unknown_agent"
        async with world.engine.connect() as conn:
            count = (await conn.execute(select(func.count()).select_from(operations))).scalar()
        assert count == 0  # a sign-in is no operation: nothing journalled
