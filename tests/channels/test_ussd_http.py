"""The USSD callback through the real aiohttp app (the demo stack on loopback, BOSS emulator),
driven by the gateway emulator in each profile: the top-up journey, retries that must not
credit twice, signatures, aborts, and refusals that change nothing."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from aircharge.config import SecretsConfig, UssdConfig
from aircharge.demo import DemoStack, start_demo
from channels.schema import sms_mt, ussd_sessions
from channels.ussd.profiles import UssdGatewayReplyError
from channels.ussd.signature import SIGNATURE_HEADER, sign
from simulator.ussd_gateway import Page, UssdGatewayEmulator
from tests.conftest import loopback_config

MERCHANT = "13800000003"
SECRET = "ussd-test-secret"
PROFILES = ("africastalking", "json")


async def _stack(tmp_path: Path, profile: str, secret: str = "") -> DemoStack:
    config = loopback_config(
        ussd=UssdConfig(profile=profile), secrets=replace(SecretsConfig(), ussd_secret=secret)
    )
    return await start_demo(config, tmp_path / "demo")


@pytest.fixture(params=PROFILES)
async def demo(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DemoStack]:
    stack = await _stack(tmp_path, request.param)
    try:
        yield stack
    finally:
        await stack.close()


def _gateway(demo: DemoStack, secret: str | None = None) -> UssdGatewayEmulator:
    profile = demo.platform.config.ussd.profile
    return UssdGatewayEmulator(f"{demo.platform.url}/ussd/callback", profile, secret=secret)


async def _boss_balance(demo: DemoStack, msisdn: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{demo.boss.url}/boss/subscribers/{msisdn}") as response,
    ):
        return int((await response.json())["balance"])


async def _journey(gateway: UssdGatewayEmulator) -> Page:
    session = await gateway.dial(MERCHANT, "*123#")
    assert session.page.text.startswith("代理商服务\n1. 话费充值")
    assert await session.reply("1") == Page("请输入充值号码", end=False)
    assert await session.reply("13900000001") == Page("请输入充值金额（元）", end=False)
    assert await session.reply("50") == Page("请输入6位密码", end=False)
    confirm = await session.reply("333333")
    assert confirm.text.startswith("为13900000001充值50.00元，确认吗？")
    done = await session.reply("1")
    assert done.end
    assert done.text.startswith("充值成功：13900000001到账50.00元")
    # the gateway did not hear the answer and retries: the same page, no second credit
    assert await session.resend() == done
    return done


async def test_the_top_up_journey_in_each_profile(demo: DemoStack) -> None:
    async with _gateway(demo) as gateway:
        await _journey(gateway)
    assert await _boss_balance(demo, "13900000001") == 6000
    # The merchant's receipt by SMS was queued before the last page, once for all the retries
    async with demo.platform.engine.connect() as conn:
        rows = (
            await conn.execute(select(sms_mt.c.text).where(sms_mt.c.recipient == "8613800000003"))
        ).all()
    assert [row.text[:28] for row in rows] == ["充值成功：13900000001到账50.00元，流水号"]


async def test_a_retry_of_every_request_credits_once(demo: DemoStack) -> None:
    async with _gateway(demo) as gateway:
        session = await gateway.dial(MERCHANT, "*123*1*13900000001#")
        assert await session.resend() == session.page
        for value in ("50", "333333", "1"):
            page = await session.reply(value)
            assert await session.resend() == page
    assert page.text.startswith("充值成功")
    assert await _boss_balance(demo, "13900000001") == 6000


async def test_a_shortcut_dial(demo: DemoStack) -> None:
    async with _gateway(demo) as gateway:
        session = await gateway.dial(MERCHANT, "*123*1*13900000001*50#")
    assert session.page == Page("请输入6位密码", end=False)


async def test_abort_in_the_json_profile_closes_the_session(tmp_path: Path) -> None:
    stack = await _stack(tmp_path, "json")
    try:
        async with _gateway(stack) as gateway:
            session = await gateway.dial(MERCHANT, "*123*1*13900000001*50#")
            await session.abort()
            assert session.ended
            # the gateway (wrongly) goes on: the platform says the session is over
            body = json.dumps(
                {
                    "sessionId": session.session_id,
                    "msisdn": MERCHANT,
                    "serviceCode": "*123#",
                    "operation": "continue",
                    "input": "333333",
                    "sequence": 9,
                }
            ).encode()
            status, answer = await gateway.post(body, "application/json")
        assert status == 200
        assert json.loads(answer)["operation"] == "end"
        async with stack.platform.engine.connect() as conn:
            ended = (
                await conn.execute(
                    select(ussd_sessions.c.ended).where(
                        ussd_sessions.c.session_id == session.session_id
                    )
                )
            ).scalar_one()
        assert ended is True
        assert await _boss_balance(stack, "13900000001") == 1000
    finally:
        await stack.close()


async def test_json_refusals_are_400_with_a_reason_and_change_nothing(tmp_path: Path) -> None:
    stack = await _stack(tmp_path, "json")
    try:
        async with _gateway(stack) as gateway:
            for body, reason in [
                (b"{oops", "the body is not JSON in UTF-8"),
                (b'{"sessionId": 1}', "sessionId is a int, not a string"),
                (
                    json.dumps(
                        {
                            "sessionId": "x",
                            "msisdn": MERCHANT,
                            "serviceCode": "*123#",
                            "operation": "pause",
                        }
                    ).encode(),
                    "operation 'pause' is not one of abort, begin, continue, end, timeout",
                ),
            ]:
                status, answer = await gateway.post(body, "application/json")
                assert (status, json.loads(answer)) == (400, {"error": reason})
        async with stack.platform.engine.connect() as conn:
            assert (await conn.execute(select(ussd_sessions))).first() is None
    finally:
        await stack.close()


@pytest.mark.parametrize("profile", PROFILES)
async def test_signatures_accepted_refused_and_expired(tmp_path: Path, profile: str) -> None:
    stack = await _stack(tmp_path, profile, secret=SECRET)
    url = f"{stack.platform.url}/ussd/callback"
    try:
        async with UssdGatewayEmulator(url, profile, secret=SECRET) as signed:
            await _journey(signed)
        assert await _boss_balance(stack, "13900000001") == 6000
        refusals = [
            (None, "missing X-Aircharge-Signature"),
            (b"wrong-secret", "signature does not match"),
        ]
        for secret, reason in refusals:
            async with UssdGatewayEmulator(url, profile, secret=secret) as gateway:
                with pytest.raises(UssdGatewayReplyError, match=f"HTTP 401.*{reason}"):
                    await gateway.dial(MERCHANT, "*123*1*13900000001*50*333333#")
        old = time.time() - 301
        async with UssdGatewayEmulator(url, profile, secret=SECRET, clock_s=lambda: old) as late:
            with pytest.raises(UssdGatewayReplyError, match=r"HTTP 401.*outside ±300 s"):
                await late.dial(MERCHANT, "*123#")
        # a body changed after signing
        body = b"sessionId=s&serviceCode=%2A123%23&phoneNumber=13800000003&text="
        header = sign(SECRET.encode(), body, time.time())
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                url,
                data=body + b"1",
                headers={SIGNATURE_HEADER: header, "Content-Type": "text/plain"},
            ) as response,
        ):
            assert response.status == 401
            assert SECRET not in await response.text()
        async with stack.platform.engine.connect() as conn:
            count = len((await conn.execute(select(ussd_sessions))).all())
        assert count == 1  # the signed journey's only
        assert await _boss_balance(stack, "13900000001") == 6000
    finally:
        await stack.close()
