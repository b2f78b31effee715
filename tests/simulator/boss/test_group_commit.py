"""Served over HTTP, the state file commits in groups (`simulator.boss.durable`): many
concurrent calls share a commit, every answer leaves only after the commit holding its
event, and a restart finds every reference that was answered, applied once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from simulator.boss import Msisdn, Ref, create_boss_app, open_boss_state, seed_demo_subscribers

PREPAID = Msisdn("8613900000001")


async def test_concurrent_recharges_share_commits_and_survive_a_restart(
    aiohttp_client, tmp_path: Path
) -> None:
    path = tmp_path / "boss.db"
    state = open_boss_state(path)
    seed_demo_subscribers(state)
    before = state.subscriber(PREPAID)
    assert before is not None
    client = await aiohttp_client(create_boss_app(state))

    async def recharge(n: int) -> int:
        body = {"ref": f"REF{n:06d}", "msisdn": PREPAID, "amount": 100}
        response = await client.post("/boss/recharge", json=body)
        status: int = response.status
        return status

    statuses = await asyncio.gather(*(recharge(n) for n in range(200)))
    again = await asyncio.gather(*(recharge(n) for n in range(10)))  # the same references
    assert statuses == [200] * 200
    assert all(status in (200, 409) for status in again)
    answered = state.subscriber(PREPAID)
    assert answered is not None
    await client.close()
    state.close()

    reopened = open_boss_state(path)
    try:
        restored = reopened.subscriber(PREPAID)
        assert restored is not None
        assert restored.balance_fen == before.balance_fen + 200 * 100 == answered.balance_fen
        assert reopened.status(Ref("REF000123")).status == "applied"
    finally:
        reopened.close()
