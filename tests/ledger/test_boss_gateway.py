"""The HTTP BOSS gateway against the real BOSS emulator on a loopback port: every call's
definite answers, and the emulator's seeded faults (time-out, lost response, error, late
apply, cancel before a late apply), each of which must come back unknown, never failed.
Answers the emulator never gives (garbled, foreign, too large, no answer at all) come from a
scripted HTTP peer: they too must be unknown."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest
from aiohttp import web

from aircharge.platform import Listener, listen
from ledger.gateways.boss import (
    BossApplied,
    BossCancelled,
    BossFailed,
    BossLookupUnknown,
    BossNoSubscriber,
    BossNotFound,
    BossSubscriber,
    BossUnknown,
    SubscriberType,
)
from ledger.gateways.boss_http import HttpBossGateway, answer_bytes_max
from ledger.money import Fen, Msisdn
from simulator.boss import (
    FAULTS_KEY,
    BossState,
    create_boss_app,
    open_boss_state,
    seed_demo_subscribers,
)
from simulator.boss import Msisdn as BossMsisdn

timeout_ms: Final = 500
# A bound on calls that must end by the gateway's own time-out: the emulator holds a
# time-out or a lost response for minutes, so only the gateway can end them in time.
call_bound_s: Final = 10 * timeout_ms / 1000
late_apply_ms: Final = 50

P1 = Msisdn("8613900000001")  # prepaid, 1000 fen
P2 = Msisdn("8613900000002")  # prepaid, 1000 fen
P_EN = Msisdn("8613900000010")  # prepaid, prefers English
B1 = Msisdn("8613700000001")  # postpaid, 5800 fen due
UNKNOWN = Msisdn("8613600000000")


@dataclass
class Boss:
    app: web.Application
    state: BossState
    url: str
    gateway: HttpBossGateway

    async def faults(self, **settings: Any) -> None:
        async with (
            aiohttp.ClientSession() as http,
            http.put(f"{self.url}/boss/faults", json=settings) as response,
        ):
            assert response.status == 200, await response.text()

    async def late_applies(self) -> None:
        """Wait until the late applies scheduled so far have happened (or been refused)."""
        await self.app[FAULTS_KEY].settle()

    def balance(self, msisdn: Msisdn) -> int:
        subscriber = self.state.subscriber(BossMsisdn(msisdn))
        assert subscriber is not None
        return subscriber.position_fen


@pytest.fixture
async def boss(tmp_path: Path) -> AsyncIterator[Boss]:
    """The emulator with the demo subscribers, its state in a file, on a free port."""
    state = open_boss_state(tmp_path / "boss.db")
    seed_demo_subscribers(state)
    app = create_boss_app(state)
    listener = await listen(app, "127.0.0.1", 0)
    gateway = HttpBossGateway(listener.url, timeout_ms)
    await gateway.start()
    try:
        yield Boss(app, state, listener.url, gateway)
    finally:
        await gateway.close()
        await listener.runner.cleanup()
        state.close()


# -- definite answers --------------------------------------------------------------------------


async def test_recharge(boss: Boss):
    gateway = boss.gateway
    assert await gateway.recharge("r1", P1, Fen(500)) == BossApplied("r1")
    assert await gateway.recharge("r1", P1, Fen(500)) == BossApplied("r1")  # a replay
    assert await gateway.recharge("r2", B1, Fen(500)) == BossFailed("r2", "not_prepaid")
    assert await gateway.recharge("r3", UNKNOWN, Fen(5)) == BossFailed("r3", "unknown_subscriber")
    assert boss.balance(P1) == 1500


async def test_billpay(boss: Boss):
    gateway = boss.gateway
    assert await gateway.billpay("b1", B1, Fen(6000)) == BossApplied("b1")
    assert await gateway.billpay("b2", P1, Fen(100)) == BossFailed("b2", "not_postpaid")
    assert boss.balance(B1) == -200


async def test_transfer(boss: Boss):
    gateway = boss.gateway
    assert await gateway.transfer("t1", P1, P2, Fen(300)) == BossApplied("t1")
    assert await gateway.transfer("t2", P1, B1, Fen(700)) == BossApplied("t2")
    assert await gateway.transfer("t3", P1, P2, Fen(1)) == BossFailed("t3", "insufficient_balance")
    assert await gateway.transfer("t4", P1, P1, Fen(1)) == BossFailed("t4", "same_subscriber")
    assert (boss.balance(P1), boss.balance(P2), boss.balance(B1)) == (0, 1300, 5100)


async def test_reversal(boss: Boss):
    gateway = boss.gateway
    await gateway.recharge("r1", P1, Fen(500))
    assert await gateway.reversal("x1", "r1") == BossApplied("x1")
    assert await gateway.reversal("x2", "r1") == BossFailed("x2", "already_reversed")
    assert await gateway.reversal("x3", "nowhere") == BossFailed("x3", "original_not_applied")
    assert boss.balance(P1) == 1000


async def test_status_answers_each_state(boss: Boss):
    gateway = boss.gateway
    await gateway.recharge("applied", P1, Fen(100))
    await gateway.billpay("failed", P1, Fen(100))
    await gateway.cancel("cancelled")
    assert await gateway.status("applied") == BossApplied("applied")
    assert await gateway.status("failed") == BossFailed("failed", "not_postpaid")
    assert await gateway.status("cancelled") == BossCancelled("cancelled")
    assert await gateway.status("never") == BossNotFound("never")


async def test_cancel_answers_cancelled_or_how_it_was_decided(boss: Boss):
    gateway = boss.gateway
    await gateway.recharge("applied", P1, Fen(100))
    await gateway.recharge("failed", UNKNOWN, Fen(100))
    assert await gateway.cancel("unseen") == BossCancelled("unseen")
    assert await gateway.cancel("unseen") == BossCancelled("unseen")  # idempotent
    assert await gateway.cancel("applied") == BossApplied("applied")
    assert await gateway.cancel("failed") == BossFailed("failed", "unknown_subscriber")
    # a cancelled reference is refused for good: a definite failure, the money is voided
    assert await gateway.recharge("unseen", P1, Fen(100)) == BossFailed("unseen", "boss_cancelled")
    assert boss.balance(P1) == 1100


async def test_a_reused_reference_with_other_content_is_unknown_not_failed(boss: Boss):
    gateway = boss.gateway
    await gateway.recharge("r1", P1, Fen(100))
    answer = await gateway.recharge("r1", P1, Fen(200))
    assert isinstance(answer, BossUnknown)
    assert answer.ref == "r1"
    assert boss.balance(P1) == 1100


async def test_subscriber(boss: Boss):
    gateway = boss.gateway
    assert await gateway.subscriber(P_EN) == BossSubscriber(
        P_EN, SubscriberType.PREPAID, Fen(1000), None, "en"
    )
    await gateway.billpay("b1", B1, Fen(6000))
    assert await gateway.subscriber(B1) == BossSubscriber(
        B1, SubscriberType.POSTPAID, None, Fen(-200), "zh-CN"
    )
    assert await gateway.subscriber(UNKNOWN) == BossNoSubscriber(UNKNOWN)


# -- faults set with PUT /boss/faults -------------------------------------------------------------


MONEY_CALLS = {
    "recharge": lambda g, ref: g.recharge(ref, P1, Fen(100)),
    "billpay": lambda g, ref: g.billpay(ref, B1, Fen(100)),
    "transfer": lambda g, ref: g.transfer(ref, P1, P2, Fen(100)),
}


@pytest.mark.parametrize("call", sorted(MONEY_CALLS))
async def test_a_time_out_is_unknown_within_the_time_out_and_applies_nothing(boss: Boss, call):
    await boss.faults(timeout_rate=1)
    answer = await asyncio.wait_for(MONEY_CALLS[call](boss.gateway, "k1"), call_bound_s)
    assert answer == BossUnknown("k1", "TimeoutError")
    await boss.faults()
    assert await boss.gateway.status("k1") == BossNotFound("k1")
    assert (boss.balance(P1), boss.balance(B1)) == (1000, 5800)


@pytest.mark.parametrize("call", sorted(MONEY_CALLS))
async def test_a_lost_response_is_unknown_but_applied_at_boss(boss: Boss, call):
    await boss.faults(lost_response_rate=1)
    answer = await asyncio.wait_for(MONEY_CALLS[call](boss.gateway, "k1"), call_bound_s)
    assert answer == BossUnknown("k1", "TimeoutError")
    assert await boss.gateway.status("k1") == BossApplied("k1")  # status is never faulted
    assert boss.balance(P1) + boss.balance(P2) - boss.balance(B1) == 2000 - 5800 + (
        0 if call == "transfer" else 100
    )


async def test_an_error_is_unknown_and_applies_nothing(boss: Boss):
    await boss.faults(error_rate=1)
    gateway = boss.gateway
    for call in sorted(MONEY_CALLS):
        assert await MONEY_CALLS[call](gateway, call) == BossUnknown(call, "http_503")
    assert await gateway.reversal("x1", "recharge") == BossUnknown("x1", "http_503")
    assert await gateway.cancel("c1") == BossUnknown("c1", "http_503")
    for ref in (*MONEY_CALLS, "x1", "c1"):
        assert await gateway.status(ref) == BossNotFound(ref)
    assert (boss.balance(P1), boss.balance(P2), boss.balance(B1)) == (1000, 1000, 5800)


async def test_a_late_apply_is_unknown_now_and_applied_later(boss: Boss):
    await boss.faults(late_apply_ms=late_apply_ms)
    gateway = boss.gateway
    assert await gateway.recharge("k1", P1, Fen(100)) == BossUnknown("k1", "http_503")
    assert await gateway.status("k1") == BossNotFound("k1")
    await boss.late_applies()
    assert await gateway.status("k1") == BossApplied("k1")
    assert boss.balance(P1) == 1100


async def test_a_cancel_before_the_late_apply_refuses_it(boss: Boss):
    await boss.faults(late_apply_ms=late_apply_ms)
    gateway = boss.gateway
    assert await gateway.recharge("k1", P1, Fen(100)) == BossUnknown("k1", "http_503")
    await boss.faults()  # the resolver's cancel gets through
    assert await gateway.status("k1") == BossNotFound("k1")
    assert await gateway.cancel("k1") == BossCancelled("k1")
    await boss.late_applies()
    assert await gateway.status("k1") == BossCancelled("k1")
    assert await gateway.recharge("k1", P1, Fen(100)) == BossFailed("k1", "boss_cancelled")
    assert boss.balance(P1) == 1000


async def test_a_cancel_after_the_late_apply_answers_applied(boss: Boss):
    await boss.faults(late_apply_ms=late_apply_ms)
    gateway = boss.gateway
    assert await gateway.recharge("k1", P1, Fen(100)) == BossUnknown("k1", "http_503")
    await boss.faults()
    await boss.late_applies()
    assert await gateway.cancel("k1") == BossApplied("k1")
    assert boss.balance(P1) == 1100


async def test_a_reference_boss_refuses_to_read_is_unknown(boss: Boss):
    # 400 from BOSS is our bug, not a refusal of the operation, and not "never seen"
    answer = await boss.gateway.status("a b")
    assert isinstance(answer, BossUnknown)
    assert answer.detail.startswith("bad_answer: HTTP 400")
    assert isinstance(await boss.gateway.cancel("a/b"), BossUnknown)


# -- answers the emulator never gives ----------------------------------------------------------


@dataclass
class Script:
    status: int = 200
    body: bytes = b"{}"
    redirect_to: str | None = None  # every other path answers 302 to this one


SCRIPT = web.AppKey("script", Script)


async def _scripted(request: web.Request) -> web.Response:
    script = request.app[SCRIPT]
    if script.redirect_to is not None and request.path != script.redirect_to:
        raise web.HTTPFound(script.redirect_to)
    return web.Response(status=script.status, body=script.body, content_type="application/json")


@pytest.fixture
async def peer() -> AsyncIterator[tuple[Script, HttpBossGateway]]:
    """A BOSS that answers whatever the test scripts, to every path."""
    app = web.Application()
    app[SCRIPT] = Script()
    app.router.add_route("*", "/{tail:.*}", _scripted)
    listener: Listener = await listen(app, "127.0.0.1", 0)
    gateway = HttpBossGateway(listener.url, timeout_ms)
    await gateway.start()
    try:
        yield app[SCRIPT], gateway
    finally:
        await gateway.close()
        await listener.runner.cleanup()


REF_CALLS = {
    **MONEY_CALLS,
    "reversal": lambda g, ref: g.reversal(ref, "r0"),
    "status": lambda g, ref: g.status(ref),
    "cancel": lambda g, ref: g.cancel(ref),
}

BAD_REF_ANSWERS = [
    (200, b"not json"),
    (200, b"\xff\xfe"),
    (200, b"[]"),
    (200, b'{"status": "applied"}'),  # no reference
    (200, b'{"ref": "other", "status": "applied"}'),
    (200, b'{"ref": "k1", "status": "weird"}'),
    (200, b'{"ref": "k1", "status": "not_found"}'),
    (200, b'{"ref": "k1", "status": "failed"}'),  # no reason
    (200, b'{"ref": "k1", "status": "failed", "reason": ""}'),
    (200, b'{"ref": "k1", "status": 1}'),
    (201, b'{"ref": "k1", "status": "applied"}'),
    (422, b'{"ref": "k1", "status": "failed"}'),
    (422, b'{"ref": "other", "status": "failed", "reason": "not_prepaid"}'),
    (409, b'{"ref": "k1", "status": "conflict"}'),
    (400, b'{"error": "ref must be 1 to 64 characters"}'),
    (404, b"<html>Not Found</html>"),
    (404, b'{"ref": "k1", "status": "failed", "reason": "x"}'),
    (404, b'{"ref": "other", "status": "not_found"}'),
    (500, b'{"ref": "k1", "status": "failed", "reason": "x"}'),
    (503, b'{"ref": "k1", "status": "applied"}'),
    (200, b'{"ref": "k1", "status": "applied", "pad": "' + b"x" * answer_bytes_max + b'"}'),
]


@pytest.mark.parametrize("call", sorted(REF_CALLS))
@pytest.mark.parametrize(("status", "body"), BAD_REF_ANSWERS)
async def test_an_answer_outside_the_api_is_unknown(peer, call, status: int, body: bytes):
    script, gateway = peer
    script.status, script.body = status, body
    answer = await REF_CALLS[call](gateway, "k1")
    assert isinstance(answer, BossUnknown), answer
    assert answer.ref == "k1"


@pytest.mark.parametrize(
    ("call", "status", "body", "expected"),
    [
        ("recharge", 200, b'{"ref": "k1", "status": "applied"}', BossApplied("k1")),
        ("status", 404, b'{"ref": "k1", "status": "not_found"}', BossNotFound("k1")),
        ("cancel", 200, b'{"ref": "k1", "status": "cancelled"}', BossCancelled("k1")),
        (
            "recharge",
            422,
            b'{"ref": "k1", "status": "failed", "reason": "' + b"r" * 100 + b'"}',
            BossFailed("k1", "r" * 64),  # what the operations table keeps
        ),
    ],
)
async def test_the_scripted_peer_gives_definite_answers_too(peer, call, status, body, expected):
    script, gateway = peer
    script.status, script.body = status, body
    assert await REF_CALLS[call](gateway, "k1") == expected


@pytest.mark.parametrize("call", sorted(REF_CALLS))
async def test_a_redirect_is_not_followed(peer, call):
    script, gateway = peer
    script.redirect_to = "/elsewhere"  # where an "applied" would be waiting
    script.body = b'{"ref": "k1", "status": "applied"}'
    answer = await REF_CALLS[call](gateway, "k1")
    assert isinstance(answer, BossUnknown), answer
    assert answer.detail.startswith("bad_answer: HTTP 302")


BAD_SUBSCRIBER_ANSWERS = [
    (200, b"not json"),
    (200, b'{"msisdn": "8613900000002", "type": "prepaid", "balance": 1, "language": "en"}'),
    (200, b'{"msisdn": "8613900000001", "type": "prepaid", "balance": 1.5, "language": "en"}'),
    (200, b'{"msisdn": "8613900000001", "type": "prepaid", "balance": true, "language": "en"}'),
    (200, b'{"msisdn": "8613900000001", "type": "prepaid", "balance": -1, "language": "en"}'),
    (200, b'{"msisdn": "8613900000001", "type": "prepaid", "bill_due": 1, "language": "en"}'),
    (200, b'{"msisdn": "8613900000001", "type": "prepaid", "balance": 1}'),
    (200, b'{"msisdn": "8613900000001", "type": "prepaid", "balance": 1, "language": "e n"}'),
    (200, b'{"msisdn": "8613900000001", "type": "business", "balance": 1, "language": "en"}'),
    (404, b"<html>Not Found</html>"),
    (404, b'{"error": "not_found"}'),
    (500, b'{"error": "unknown_subscriber"}'),
    (400, b'{"error": "msisdn is not a phone number"}'),
]


@pytest.mark.parametrize(("status", "body"), BAD_SUBSCRIBER_ANSWERS)
async def test_a_subscriber_answer_outside_the_api_is_unknown(peer, status: int, body: bytes):
    script, gateway = peer
    script.status, script.body = status, body
    answer = await gateway.subscriber(P1)
    assert isinstance(answer, BossLookupUnknown), answer
    assert answer.msisdn == P1


async def test_the_scripted_peer_gives_a_subscriber_too(peer):
    script, gateway = peer
    script.body = (
        b'{"msisdn": "8613700000001", "type": "postpaid", "bill_due": 0, "language": "zh"}'
    )
    assert await gateway.subscriber(B1) == BossSubscriber(
        B1, SubscriberType.POSTPAID, None, Fen(0), "zh"
    )


# -- no answer at all ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _unknown_details(gateway: HttpBossGateway) -> set[str]:
    """Every call made once; each must be unknown. The details they carry."""
    details = set()
    for call in sorted(REF_CALLS):
        answer = await REF_CALLS[call](gateway, "k1")
        assert isinstance(answer, BossUnknown), (call, answer)
        details.add(answer.detail)
    lookup = await gateway.subscriber(P1)
    assert isinstance(lookup, BossLookupUnknown), lookup
    details.add(lookup.detail)
    return details


async def test_a_refused_connection_is_unknown():
    gateway = HttpBossGateway(f"http://127.0.0.1:{_free_port()}", timeout_ms)
    await gateway.start()
    try:
        details = await asyncio.wait_for(_unknown_details(gateway), call_bound_s * 8)
    finally:
        await gateway.close()
    assert details == {"ClientConnectorError"}


async def test_a_connection_closed_without_an_answer_is_unknown():
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")  # the request's head, then nothing
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    gateway = HttpBossGateway(f"http://127.0.0.1:{port}", timeout_ms)
    await gateway.start()
    try:
        details = await asyncio.wait_for(_unknown_details(gateway), call_bound_s * 8)
    finally:
        await gateway.close()
        server.close()
        await server.wait_closed()
    assert details == {"ServerDisconnectedError"}
