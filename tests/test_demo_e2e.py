"""End to end, as a newcomer tries it: the demo in-process on free loopback ports, a USSD
session driven over real HTTP like a gateway would, and both sides of the money checked:
BOSS's balance over its API and the merchant's deposit over USSD and in the ledger."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from aircharge.config import UssdConfig
from aircharge.demo import DemoStack, start_demo
from ledger.accounts import get_account
from ledger.money import Msisdn
from tests.conftest import loopback_config

MERCHANT = "13800000003"


class Handset:
    """One USSD session as an Africa's Talking gateway reports it: text accumulates."""

    def __init__(self, http: aiohttp.ClientSession, url: str, session_id: str, msisdn: str):
        self._http, self._url, self._session_id, self._msisdn = http, url, session_id, msisdn
        self.inputs: list[str] = []

    async def post(self, text: str, **overrides: str) -> tuple[int, str]:
        form = {
            "sessionId": self._session_id,
            "serviceCode": "*123#",
            "phoneNumber": self._msisdn,
            "networkCode": "46000",
            "text": text,
            **overrides,
        }
        async with self._http.post(f"{self._url}/ussd/callback", data=form) as response:
            return response.status, await response.text()

    async def dial(self) -> str:
        status, body = await self.post("")
        assert status == 200, body
        return body

    async def send(self, value: str) -> str:
        self.inputs.append(value)
        status, body = await self.post("*".join(self.inputs))
        assert status == 200, body
        return body


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def boss_balance(http: aiohttp.ClientSession, demo: DemoStack, msisdn: str) -> int:
    async with http.get(f"{demo.boss.url}/boss/subscribers/{msisdn}") as response:
        assert response.status == 200
        body = await response.json()
    return int(body["balance"])


async def deposit_text(http: aiohttp.ClientSession, demo: DemoStack, session_id: str) -> str:
    phone = Handset(http, demo.platform.url, session_id, MERCHANT)
    await phone.dial()
    await phone.send("4")
    return await phone.send("333333")


async def test_merchant_tops_up_a_subscriber(demo: DemoStack, http: aiohttp.ClientSession):
    phone = Handset(http, demo.platform.url, "ATU-1", MERCHANT)
    assert await phone.dial() == (
        "CON 代理商服务\n1. 话费充值\n2. 缴费\n3. 划拨\n4. 余额查询\n5. 最近交易\n6. 修改密码"
    )
    assert await phone.send("1") == "CON 请输入充值号码"
    assert await phone.send("13900000001") == "CON 请输入充值金额（元）"
    assert await phone.send("50") == "CON 请输入6位密码"
    assert await phone.send("333333") == "CON 为13900000001充值50.00元，确认吗？\n1. 确认\n2. 取消"
    done = await phone.send("1")
    assert done.startswith("END 充值成功：13900000001到账50.00元，流水号AC")
    assert done.endswith("，余额450.00元。")

    assert await boss_balance(http, demo, "13900000001") == 6000
    balance = "END 您的预存款余额450.00元，佣金余额1.00元。"  # commission: 2 % of ¥50
    assert await deposit_text(http, demo, "ATU-2") == balance
    merchant = await demo.platform.operations.find_agent(Msisdn("8613800000003"))
    assert merchant is not None
    async with demo.platform.engine.connect() as conn:
        deposit = await get_account(conn, merchant.deposit_account_id)
    assert (deposit.balance, deposit.debits_pending) == (45_000, 0)

    async with http.get(f"{demo.platform.url}/metrics") as response:
        metrics = await response.text()
    # the reservation, then its post with three commission legs: two commits, five transfers
    assert "aircharge_ledger_transfers_written_total 5.0" in metrics
    commits = re.findall(r'aircharge_ledger_commits_total\{validated="(\w+)"\} (\S+)', metrics)
    assert sum(float(count) for _, count in commits) == 2.0
    assert {name for name, _ in commits} == {"view", "reads"}
    assert "aircharge_ledger_queue_length 0.0" in metrics


async def test_gateway_retry_answers_again_without_a_second_credit(
    demo: DemoStack, http: aiohttp.ClientSession
):
    phone = Handset(http, demo.platform.url, "ATU-R", MERCHANT)
    await phone.dial()
    for value in ("1", "13900000002", "20", "333333"):
        await phone.send(value)
    first = await phone.send("1")
    status, again = await phone.post("*".join(phone.inputs))
    assert (status, again) == (200, first)
    assert await boss_balance(http, demo, "13900000002") == 1000 + 2000


@pytest.mark.parametrize(
    ("inputs", "last_reply"),
    [
        (["1", "13900000001", "50", "999999", "1"], "END 密码错误，交易未执行。"),
        (["1", "13600000000", "50", "333333", "1"], "END 号码13600000000不存在，未扣款。"),
        (
            ["1", "13900000001", "501", "333333", "1"],
            "END 金额过大：单笔须在1.00元至500.00元之间。",
        ),
        (
            ["1", "13900000001", "0"],
            "CON 金额无效，请输入元，最多两位小数，如50或50.5。\n请输入充值金额（元）",
        ),
        (["1", "abcdefg"], "CON 号码无效，请输入11位手机号码。\n请输入充值号码"),
        (["1", "13900000001", "50", "33x333"], "CON 密码须为6位数字。\n请输入6位密码"),
        (
            ["7"],
            "CON 选择无效，请输入菜单中的序号。\n代理商服务\n1. 话费充值\n2. 缴费\n3. 划拨"
            "\n4. 余额查询\n5. 最近交易\n6. 修改密码",
        ),
    ],
)
async def test_bad_input_gets_a_clear_message_and_moves_no_money(
    demo: DemoStack, http: aiohttp.ClientSession, inputs: list[str], last_reply: str
):
    phone = Handset(http, demo.platform.url, "ATU-X", MERCHANT)
    await phone.dial()
    for value in inputs:
        reply = await phone.send(value)
    assert reply == last_reply
    assert await boss_balance(http, demo, "13900000001") == 1000
    assert await deposit_text(http, demo, "ATU-Y") == "END 您的预存款余额500.00元，佣金余额0.00元。"


async def sms_code(demo: DemoStack, msisdn: str) -> str:
    """The confirmation code in the last SMS the handset received (waiting for it)."""
    handset = demo.smsc.handset(msisdn)
    async with asyncio.timeout(5):
        while handset.last is None:  # noqa: ASYNC110 -- the emulator's inbox, not ours
            await asyncio.sleep(0.01)
    found = re.search(r"\d{6}", handset.last.text)
    assert found is not None, handset.last.text
    return found.group()


async def test_non_agents_and_broken_requests(demo: DemoStack, http: aiohttp.ClientSession):
    subscriber = Handset(http, demo.platform.url, "ATU-S", "13900000001")
    assert await subscriber.dial() == "CON 自助服务\n1. 话费转赠\n2. 代缴话费\n3. 帮助"
    for value in ("1", "13900000002", "5"):
        await subscriber.send(value)
    assert await subscriber.send("1") == "CON 验证码已通过短信发送，请输入验证码"
    code = await sms_code(demo, "13900000001")  # over SMPP, through the SMSC emulator
    assert (await subscriber.send(code)).startswith("END ")
    assert await boss_balance(http, demo, "13900000002") == 1500
    assert await boss_balance(http, demo, "13900000001") == 500
    phone = Handset(http, demo.platform.url, "ATU-B", MERCHANT)
    status, body = await phone.post("", serviceCode="*999#")
    assert (status, body) == (400, "bad request: unknown serviceCode '*999#'")
    status, body = await phone.post("", phoneNumber="not a number")
    assert status == 400
    assert "phoneNumber" in body
    status, body = await phone.post("", sessionId="")
    assert status == 400
    garbage = bytes(range(128, 256)) * 4
    async with http.post(
        f"{demo.platform.url}/ussd/callback",
        data=garbage,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ) as response:
        assert (response.status, await response.text()) == (
            400,
            "bad request: the body is not a form in UTF-8",
        )
    await phone.dial()
    hijack = Handset(http, demo.platform.url, "ATU-B", "13800000002")
    status, body = await hijack.post("1")
    assert (status, body) == (400, "bad request: sessionId belongs to another phoneNumber")


async def test_metrics_count_operations(demo: DemoStack, http: aiohttp.ClientSession):
    await deposit_text(http, demo, "ATU-M")
    async with http.get(f"{demo.platform.url}/metrics") as response:
        body = await response.text()
    assert 'aircharge_operations_total{channel="ussd",operation="balance",outcome="ok"} 1.0' in body
    assert 'aircharge_http_requests_total{route="/ussd/callback",status="200"} 3.0' in body


async def test_callbacks_from_unlisted_gateways_are_refused(tmp_path: Path):
    config = loopback_config(ussd=UssdConfig(allowed_gateways=("10.0.0.0/8",)))
    stack = await start_demo(config, tmp_path / "demo")
    try:
        async with aiohttp.ClientSession() as http:
            status, body = await Handset(http, stack.platform.url, "s", MERCHANT).post("")
    finally:
        await stack.close()
    assert (status, body) == (403, "forbidden: not an allowed USSD gateway")
