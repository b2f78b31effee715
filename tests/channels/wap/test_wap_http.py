"""The WAP channel through the real platform (the demo stack on loopback: real aiohttp
server, real SQLite, the BOSS emulator, the SMSC emulator for SMS codes and receipts): every
page parsed as XML, money checked on both sides."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from aircharge.config import PinsConfig, WapConfig
from aircharge.demo import DemoStack, start_demo
from channels.schema import sms_mt, wap_form_tokens, wap_sessions
from ledger.accounts import get_account
from ledger.money import Msisdn
from ledger.schema import agents, operations
from tests.channels.wap.browser import WML_ACCEPT, XHTML_ACCEPT, WapBrowser, code_in
from tests.conftest import loopback_config

LEVEL2 = "13800000002"
MERCHANT = "13800000003"
AGENT_MENU = ["1. 话费充值", "2. 缴费", "3. 划拨", "4. 余额查询", "5. 最近交易", "6. 修改密码"]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _started(tmp_path: Path, **sections: object) -> DemoStack:
    stack = await start_demo(loopback_config(**sections), tmp_path / "demo")
    if stack.platform.sms is not None:
        await stack.platform.sms.link.wait_up(5_000)
    return stack


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[DemoStack]:
    stack = await _started(tmp_path)
    try:
        yield stack
    finally:
        await stack.close()


def _gateway(http: aiohttp.ClientSession, demo: DemoStack, msisdn: str, **kw: str) -> WapBrowser:
    """A browser behind the operator's gateway (loopback is allow-listed by default)."""
    return WapBrowser(http, demo.platform.url, headers={"X-MSISDN": f"86{msisdn}"}, **kw)


async def _subscriber(http: aiohttp.ClientSession, demo: DemoStack, msisdn: str) -> dict[str, int]:
    async with http.get(f"{demo.boss.url}/boss/subscribers/{msisdn}") as response:
        assert response.status == 200
        return dict(await response.json())


async def _deposit(demo: DemoStack, msisdn: str) -> int:
    agent = await demo.platform.operations.find_agent(Msisdn(f"86{msisdn}"))
    assert agent is not None
    async with demo.platform.engine.connect() as conn:
        return (await get_account(conn, agent.deposit_account_id)).available


async def _operation_count(demo: DemoStack) -> int:
    async with demo.platform.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(operations))).scalar_one())


async def _metrics(http: aiohttp.ClientSession, demo: DemoStack) -> str:
    async with http.get(f"{demo.platform.url}/metrics") as response:
        return await response.text()


async def _sms_code(demo: DemoStack, msisdn: str) -> str:
    handset = demo.smsc.handset(msisdn)
    async with asyncio.timeout(5):
        while handset.last is None:  # noqa: ASYNC110 -- the emulator's inbox, not ours
            await asyncio.sleep(0.01)
    return code_in(handset.last.text)


# --- formats ------------------------------------------------------------------------------


async def test_wml_for_a_wap1_browser_and_xhtml_mp_for_the_rest(
    demo: DemoStack, http: aiohttp.ClientSession
) -> None:
    wml = await _gateway(http, demo, MERCHANT, accept=WML_ACCEPT).open()
    assert wml.content_type == "text/vnd.wap.wml; charset=utf-8"
    assert wml.wml
    assert wml.choices == [item.split(". ")[1] for item in AGENT_MENU]
    assert '<!DOCTYPE wml PUBLIC "-//WAPFORUM//DTD WML 1.3//EN"' in wml.body
    xhtml = await _gateway(http, demo, MERCHANT, accept=XHTML_ACCEPT).open()
    assert xhtml.content_type == "application/vnd.wap.xhtml+xml; charset=utf-8"
    assert xhtml.choices == AGENT_MENU
    for page in (wml, xhtml):
        assert page.status == 200
        assert page.headers["Cache-Control"] == "no-store"
        assert "Accept" in page.headers["Vary"]
        assert set(page.fields) == {"token", "session"}
    assert wml.fields != xhtml.fields  # two sessions, two tokens
    plain = await _gateway(http, demo, MERCHANT, accept="*/*").open()
    assert not plain.wml
    # both pages are the same screen; the subscriber menu for a number that is no agent's
    subscriber = await _gateway(http, demo, "13900000001").open()
    assert subscriber.choices == ["1. 话费转赠", "2. 代缴话费", "3. 帮助"]


# --- an agent's operations ----------------------------------------------------------------


async def test_an_agent_tops_up_pays_a_bill_and_checks_the_balance(
    demo: DemoStack, http: aiohttp.ClientSession
) -> None:
    phone = _gateway(http, demo, MERCHANT)
    await phone.open()
    done = await phone.walk("1", "13900000001", "50", "333333", "1")
    assert done.text.startswith("充值成功：13900000001到账50.00元，流水号AC")
    assert "余额450.00元" in done.text
    assert done.action is None  # an end: no form, a link to start again
    assert [a.get("href") for a in done.elements("a")] == ["/wap/"]
    assert (await _subscriber(http, demo, "13900000001"))["balance"] == 6000
    assert await _deposit(demo, MERCHANT) == 45_000

    # a bill payment, in WML this time
    phone = _gateway(http, demo, MERCHANT, accept=WML_ACCEPT)
    await phone.open()
    paid = await phone.walk("2", "13700000001", "58", "333333", "1")
    assert paid.wml
    assert paid.text.startswith("缴费成功：13700000001已缴58.00元")
    assert (await _subscriber(http, demo, "13700000001"))["bill_due"] == 0
    assert await _deposit(demo, MERCHANT) == 45_000 - 5_800

    phone = _gateway(http, demo, MERCHANT)
    await phone.open()
    balance = await phone.walk("4", "333333")
    assert balance.text.startswith("您的预存款余额392.00元，佣金余额")

    # the receipts went by SMS, queued before the last pages were answered
    async with demo.platform.engine.connect() as conn:
        texts = (
            await conn.execute(select(sms_mt.c.text).where(sms_mt.c.recipient == "8613800000003"))
        ).scalars()
        receipts = [text[:4] for text in texts]
    assert receipts.count("充值成功") == 1
    assert receipts.count("缴费成功") == 1
    metrics = await _metrics(http, demo)
    assert 'aircharge_operations_total{channel="wap",operation="topup",outcome="ok"} 1.0' in metrics
    assert 'aircharge_wap_events_total{event="header_trusted"}' in metrics


async def test_an_agent_allots_deposit_to_one_below(
    demo: DemoStack, http: aiohttp.ClientSession
) -> None:
    phone = _gateway(http, demo, LEVEL2)
    await phone.open()
    done = await phone.walk("3", MERCHANT, "100", "222222", "1")
    assert done.text.startswith(f"划拨成功：{MERCHANT}收到100.00元")
    assert await _deposit(demo, LEVEL2) == 200_000 - 10_000
    assert await _deposit(demo, MERCHANT) == 50_000 + 10_000


async def test_a_subscriber_sends_balance_with_the_code_sent_by_sms(
    demo: DemoStack, http: aiohttp.ClientSession
) -> None:
    phone = _gateway(http, demo, "13900000001")
    await phone.open()
    ask = await phone.walk("1", "13900000002", "5", "1")
    assert ask.text == "验证码已通过短信发送，请输入验证码"
    code = await _sms_code(demo, "13900000001")  # over SMPP, through the SMSC emulator
    done = await phone.send(code)
    assert done.text.startswith("转赠成功：13900000002收到5.00元。")
    assert (await _subscriber(http, demo, "13900000001"))["balance"] == 500
    assert (await _subscriber(http, demo, "13900000002"))["balance"] == 1500


# --- identity -----------------------------------------------------------------------------


async def test_a_forged_number_header_from_outside_the_gateways_is_ignored(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    stack = await _started(tmp_path, wap=WapConfig(allowed_gateways=("10.99.0.0/16",)))
    try:
        forger = _gateway(http, stack, MERCHANT)  # from 127.0.0.1, not a gateway now
        page = await forger.open()
        assert page.text == "请输入您的手机号码"  # not the agent's menu: sign in
        # the header goes on being ignored: typing the number asks for the agent's PIN
        assert (await forger.send(MERCHANT)).text == "代理商请输入6位密码"
        menu = await forger.send("333333")
        assert menu.choices == AGENT_MENU
        metrics = await _metrics(http, stack)
    finally:
        await stack.close()
    assert 'aircharge_wap_events_total{event="header_untrusted"} 3.0' in metrics
    assert 'aircharge_wap_events_total{event="signin_ok"} 1.0' in metrics


async def test_a_session_is_bound_to_its_number(
    demo: DemoStack, http: aiohttp.ClientSession
) -> None:
    phone = _gateway(http, demo, MERCHANT)
    page = await phone.open()
    thief = _gateway(http, demo, LEVEL2)
    stolen = await thief.post({**page.fields, "input": "4"})
    assert stolen.status == 403
    assert stolen.text == "此会话属于其他号码，本次未执行任何操作。 重新开始"
    # and a session opened behind the gateway is not answered from outside it
    outside = WapBrowser(http, demo.platform.url)
    assert (await outside.post({**page.fields, "input": "4"})).status == 403
    # the owner's page is still good
    assert (await phone.send("4")).text == "请输入6位密码"


async def test_wrong_sign_in_pins_count_per_agent_and_per_source(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    stack = await _started(
        tmp_path,
        wap=WapConfig(allowed_gateways=("10.99.0.0/16",)),
        pins=PinsConfig(source_failures_max=3),
    )
    try:
        first = WapBrowser(http, stack.platform.url)
        await first.open()
        await first.send(MERCHANT)
        wrong = await first.send("000000")
        assert wrong.text == "密码错误，还可尝试2次。 代理商请输入6位密码"
        assert (await first.send("000001")).text.startswith("密码错误，还可尝试1次。")
        second = WapBrowser(http, stack.platform.url)
        await second.open()
        await second.send(LEVEL2)
        assert (await second.send("000000")).text.startswith("密码错误，还可尝试2次。")
        async with stack.platform.engine.connect() as conn:
            failures = dict(
                (await conn.execute(select(agents.c.msisdn, agents.c.pin_failures))).all()
            )
        assert failures["8613800000003"] == 2
        assert failures["8613800000002"] == 1
        # three wrong PINs from this address: even the right PIN of a third agent is not
        # checked from here now, and counts against nobody
        third = WapBrowser(http, stack.platform.url)
        await third.open()
        await third.send("13800000001")
        throttled = await third.send("111111")
        assert throttled.text == "此处密码错误次数过多，请10分钟后再试。 重新开始"
        assert throttled.action is None
        async with stack.platform.engine.connect() as conn:
            level1 = (
                await conn.execute(
                    select(agents.c.pin_failures).where(agents.c.msisdn == "8613800000001")
                )
            ).scalar_one()
        assert level1 == 0
        # behind the gateway the network vouches for the number: another source
        # (checked in the pin_throttle table as channel:origin)
        metrics = await _metrics(http, stack)
    finally:
        await stack.close()
    assert 'aircharge_wap_events_total{event="signin_refused"} 4.0' in metrics
    assert (
        'aircharge_operations_total{channel="wap",operation="check_pin",outcome="too_many_attempts"}'
        in metrics
    )


async def test_an_agent_locked_by_wrong_pins_gets_a_clear_page(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    stack = await _started(tmp_path, wap=WapConfig(allowed_gateways=("10.99.0.0/16",)))
    try:
        phone = WapBrowser(http, stack.platform.url, accept=WML_ACCEPT)
        await phone.open()
        await phone.send(MERCHANT)
        await phone.send("000000")
        await phone.send("000001")
        locked = await phone.send("000002")
        assert locked.text == "密码错误次数过多，账户已锁定30分钟。 重新开始"
        assert await _deposit(stack, MERCHANT) == 50_000
    finally:
        await stack.close()


# --- forms --------------------------------------------------------------------------------


async def test_a_replayed_form_is_refused_and_moves_no_money(
    demo: DemoStack, http: aiohttp.ClientSession
) -> None:
    phone = _gateway(http, demo, MERCHANT)
    await phone.open()
    confirm = await phone.walk("1", "13900000001", "50", "333333")
    done = await phone.send("1")
    assert done.text.startswith("充值成功")
    count = await _operation_count(demo)
    replay = await phone.post({**confirm.fields, "input": "1"})
    assert replay.status == 403
    assert replay.text == "此页面已失效（已提交过或已过期），本次未执行任何操作。 重新开始"
    assert [a.get("href") for a in replay.elements("a")] == ["/wap/"]
    assert await _operation_count(demo) == count
    assert (await _subscriber(http, demo, "13900000001"))["balance"] == 6000
    assert await _deposit(demo, MERCHANT) == 45_000

    # a forged token, and another session's token, are refused the same way
    other = _gateway(http, demo, MERCHANT)
    page = await other.open()
    forged = await other.post({**page.fields, "token": "x" * 32, "input": "4"})
    assert forged.status == 403
    theirs = await phone.open()
    crossed = await other.post({**page.fields, "token": theirs.fields["token"], "input": "4"})
    assert crossed.status == 403
    # none of that spent the real token
    assert (await other.send("4")).text == "请输入6位密码"
    metrics = await _metrics(http, demo)
    assert 'aircharge_wap_events_total{event="token_refused"} 3.0' in metrics


async def test_two_posts_of_one_form_at_once_run_it_once(
    demo: DemoStack, http: aiohttp.ClientSession
) -> None:
    phone = _gateway(http, demo, MERCHANT)
    await phone.open()
    confirm = await phone.walk("1", "13900000003", "20", "333333")
    answers = await asyncio.gather(
        *(phone.post({**confirm.fields, "input": "1"}) for _ in range(4))
    )
    assert sorted(page.status for page in answers) == [200, 403, 403, 403]
    assert (await _subscriber(http, demo, "13900000003"))["balance"] == 3000


async def test_tokens_and_session_ids_are_stored_only_hashed(
    demo: DemoStack, http: aiohttp.ClientSession
) -> None:
    page = await _gateway(http, demo, MERCHANT).open()
    async with demo.platform.engine.connect() as conn:
        tokens = (await conn.execute(select(wap_form_tokens.c.token_hash))).scalars().all()
        sessions = (await conn.execute(select(wap_sessions.c.session_hash))).scalars().all()
    assert len(tokens) == len(sessions) == 1
    assert page.fields["token"] not in tokens
    assert page.fields["session"] not in sessions
    assert len(page.fields["token"]) >= 32


@pytest.mark.parametrize("accept", [XHTML_ACCEPT, WML_ACCEPT])
async def test_markup_typed_into_a_field_is_shown_as_text(
    demo: DemoStack, http: aiohttp.ClientSession, accept: str
) -> None:
    attack = "<script>alert(1)</script>$(input)&amp;"
    phone = WapBrowser(http, demo.platform.url, accept=accept, headers={"X-MSISDN": attack})
    signin = await phone.open()  # a header that is no number: the page asks for it
    assert signin.text.startswith("请输入您的手机号码")
    assert (await phone.send(attack)).text.startswith("号码无效")
    phone = _gateway(http, demo, MERCHANT, accept=accept)
    await phone.open()
    await phone.send("1")
    await phone.send("13900000001")
    page = await phone.send(attack)
    assert page.text.startswith("金额无效")
    for shown in (signin, page):
        assert "<script" not in shown.body
        assert not shown.elements("script")
    bad = await phone.post({"session": "<script>", "token": "<b>x</b>", "input": attack})
    assert bad.status == 403
    assert "<script" not in bad.body
    assert "<b>" not in bad.body


async def test_a_post_that_is_not_our_form(demo: DemoStack, http: aiohttp.ClientSession) -> None:
    async with http.post(
        f"{demo.platform.url}/wap/",
        data=b"token=a&token=b&session=c",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ) as response:
        assert response.status == 400
        assert response.headers["Cache-Control"] == "no-store"
    async with http.post(f"{demo.platform.url}/wap/", json={"session": "s"}) as response:
        assert response.status == 400
    async with http.post(
        f"{demo.platform.url}/wap/",
        data=b"session=" + b"a" * 10_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ) as response:
        assert response.status == 400
