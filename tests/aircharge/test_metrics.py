"""BOSS calls counted by call and result, through the real gateway and emulator."""

from __future__ import annotations

from aircharge.metrics import MeteredBoss, Metrics
from aircharge.platform import listen
from ledger.gateways.boss_http import HttpBossGateway
from ledger.money import Fen, Msisdn
from simulator.boss import BossState, create_boss_app, seed_demo_subscribers

P1 = Msisdn("8613900000001")
B1 = Msisdn("8613700000001")
UNKNOWN = Msisdn("8613600000000")


async def test_every_boss_call_is_counted_by_its_result():
    state = BossState()
    seed_demo_subscribers(state)
    listener = await listen(create_boss_app(state), "127.0.0.1", 0)
    gateway = HttpBossGateway(listener.url, 2_000)
    await gateway.start()
    metrics = Metrics()
    boss = MeteredBoss(gateway, metrics)
    try:
        await boss.recharge("r1", P1, Fen(100))
        await boss.billpay("b1", P1, Fen(100))
        await boss.transfer("t1", P1, B1, Fen(100))
        await boss.reversal("x1", "r1")
        await boss.status("never")
        await boss.cancel("c1")
        await boss.subscriber(P1)
        await boss.subscriber(UNKNOWN)
        await boss.status("a b")  # BOSS refuses to read the reference: unknown
    finally:
        await gateway.close()
        await listener.runner.cleanup()

    def count(call: str, result: str) -> float | None:
        labels = {"call": call, "result": result}
        return metrics.registry.get_sample_value("aircharge_boss_calls_total", labels)

    assert [
        count("recharge", "applied"),
        count("billpay", "failed"),
        count("transfer", "applied"),
        count("reversal", "applied"),
        count("status", "not_found"),
        count("status", "unknown"),
        count("cancel", "cancelled"),
        count("subscriber", "found"),
        count("subscriber", "not_found"),
    ] == [1.0] * 9
    assert (
        metrics.registry.get_sample_value(
            "aircharge_boss_call_seconds_count", {"call": "subscriber"}
        )
        == 2.0
    )
