"""The WAP channel through the real platform (the demo stack on loopback: real aiohttp
server, real SQLite, the BOSS emulator, the SMSC emulator for SMS codes and receipts): every
page read by the simulator's handset browser model (`simulator.wap_browser`, expat: a page
that is not well-formed fails the test there), money checked on both sides.

The browsers here speak to the platform directly, not through the WAP gateway emulator: the
tests decide the number header (a gateway's from loopback, which is allow-listed by default,
or a forger's), and post forms as a handset would or as an attacker forges them."""

from __future__ import annotations

import asyncio
import re
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from aircharge.config import PinsConfig, WapConfig
from aircharge.demo import DemoStack
from channels.schema import sms_mt, wap_form_tokens, wap_sessions
from ledger.accounts import get_account
from ledger.money import Msisdn
from ledger.schema import agents, operations
from simulator.wap_browser import FORM_TYPE, Choice, Flavour, Hidden, Link, Submission, Text
from simulator.wap_browser import WapBrowser as Browser
from simulator.wap_browser.wml import postfields
from tests.channels.wap.conftest import started

LEVEL2 = "13800000002"
MERCHANT = "13800000003"
AGENT_MENU = ["1. 话费充值", "2. 缴费", "3. 划拨", "4. 余额查询", "5. 最近交易", "6. 修改密码"]


class WapBrowser(Browser):
    """The handset browser model at the platform's `/wap/`, with what these tests read."""

    def __init__(self, base_url: str, flavour: Flavour = "xhtml", **kw: object) -> None:
        super().__init__(flavour, **kw)  # type: ignore[arg-type]
        self.base = base_url

    @property
    def words(self) -> str:
        """What a person reads on the page, blocks joined by a space (title and fields aside)."""
        screen = self.screen
        assert screen is not None
        words = [b.text if isinstance(b, Text) else b.label for b in screen.blocks
                 if isinstance(b, Text | Link)]  # fmt: skip
        return " ".join(words)

    @property
    def choices(self) -> list[str]:
        assert self.screen is not None
        return [o.label for f in self.screen.inputs if isinstance(f, Choice) for o in f.options]

    @property
    def fields(self) -> dict[str, str]:
        """The form's hidden fields (session and token) as the browser would send them."""
        screen = self.screen
        assert screen is not None
        form = screen.form
        assert form is not None, f"no form: {self.words}"
        if form.posts_fields:
            return {f.name: f.value for f in form.fields if isinstance(f, Hidden)}
        return {name: value for name, value in postfields(form.go, self.values) if name != "input"}

    @property
    def shown_as(self) -> Flavour:
        """The format the page came in (an XHTML browser shows WML too)."""
        assert self.screen is not None
        return self.screen.flavour

    @property
    def hrefs(self) -> list[str]:
        assert self.screen is not None
        return [link.go.href for link in self.screen.links]

    @property
    def has_form(self) -> bool:
        return self.screen is not None and self.screen.form is not None

    @property
    def body(self) -> str:
        assert self.response is not None
        return self.response.text

    @property
    def headers(self) -> Mapping[str, str]:
        assert self.response is not None
        return self.response.headers

    async def start(self) -> WapBrowser:
        await self.open(f"{self.base}/wap/")
        return self

    async def walk(self, *answers: str) -> WapBrowser:
        """Answer page after page as the user would, each answered with 200."""
        for answer in answers:
            await self.answer(answer)
            assert self.status == 200, self.words
        return self

    async def post(self, fields: Mapping[str, str]) -> WapBrowser:
        """POST `fields` to `/wap/` as they are: a replay or a forgery."""
        body = urllib.parse.urlencode(fields).encode()
        items = tuple(fields.items())
        await self.send(Submission("POST", f"{self.base}/wap/", body, FORM_TYPE, items))
        return self


Browsers = Callable[..., WapBrowser]


@pytest.fixture
async def browsers() -> AsyncIterator[Browsers]:
    """`browsers(stack, msisdn=None, flavour="xhtml", **headers)`: a handset browser at the
    stack's `/wap/`; with `msisdn`, behind the operator's gateway (the number header added
    from loopback, allow-listed by default)."""
    made: list[WapBrowser] = []

    def make(
        stack: DemoStack,
        msisdn: str | None = None,
        flavour: Flavour = "xhtml",
        headers: Mapping[str, str] | None = None,
    ) -> WapBrowser:
        sent = dict(headers or {})
        if msisdn is not None:
            sent["X-MSISDN"] = f"86{msisdn}"
        browser = WapBrowser(stack.platform.url, flavour, headers=sent)
        made.append(browser)
        return browser

    yield make
    for browser in made:
        await browser.close()


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


def code_in(text: str) -> str:
    found = re.search(r"\d{6}", text)
    assert found is not None, text
    return found.group()


async def _sms_code(demo: DemoStack, msisdn: str) -> str:
    handset = demo.smsc.handset(msisdn)
    async with asyncio.timeout(5):
        while handset.last is None:  # noqa: ASYNC110 -- the emulator's inbox, not ours
            await asyncio.sleep(0.01)
    return code_in(handset.last.text)


# --- formats ------------------------------------------------------------------------------


async def test_wml_for_a_wap1_browser_and_xhtml_mp_for_the_rest(
    demo: DemoStack, browsers: Browsers
) -> None:
    wml = await browsers(demo, MERCHANT, "wml").start()
    assert wml.response is not None
    assert wml.response.content_type == "text/vnd.wap.wml; charset=utf-8"
    assert wml.choices == [item.split(". ")[1] for item in AGENT_MENU]
    assert '<!DOCTYPE wml PUBLIC "-//WAPFORUM//DTD WML 1.3//EN"' in wml.body
    assert wml.shown_as == "wml"
    xhtml = await browsers(demo, MERCHANT).start()
    assert xhtml.response is not None
    assert xhtml.response.content_type == "application/vnd.wap.xhtml+xml; charset=utf-8"
    assert xhtml.choices == AGENT_MENU
    for page in (wml, xhtml):
        assert page.status == 200
        assert page.headers["Cache-Control"] == "no-store"
        assert "Accept" in page.headers["Vary"]
        assert set(page.fields) == {"token", "session"}
    assert wml.fields != xhtml.fields  # two sessions, two tokens
    plain = await browsers(demo, MERCHANT, headers={"Accept": "*/*"}).start()
    assert plain.shown_as == "xhtml"
    # both pages are the same screen; the subscriber menu for a number that is no agent's
    subscriber = await browsers(demo, "13900000001").start()
    assert subscriber.choices == ["1. 话费转赠", "2. 代缴话费", "3. 帮助"]


# --- an agent's operations ----------------------------------------------------------------


async def test_an_agent_tops_up_pays_a_bill_and_checks_the_balance(
    demo: DemoStack, http: aiohttp.ClientSession, browsers: Browsers
) -> None:
    phone = await browsers(demo, MERCHANT).start()
    done = await phone.walk("1", "13900000001", "50", "333333", "1")
    assert done.words.startswith("充值成功：13900000001到账50.00元，流水号AC")
    assert "余额450.00元" in done.words
    assert not done.has_form  # an end: no form, a link to start again
    assert done.hrefs == ["/wap/"]
    assert (await _subscriber(http, demo, "13900000001"))["balance"] == 6000
    assert await _deposit(demo, MERCHANT) == 45_000

    # a bill payment, in WML this time
    phone = await browsers(demo, MERCHANT, "wml").start()
    paid = await phone.walk("2", "13700000001", "58", "333333", "1")
    assert paid.shown_as == "wml"
    assert paid.words.startswith("缴费成功：13700000001已缴58.00元")
    assert (await _subscriber(http, demo, "13700000001"))["bill_due"] == 0
    assert await _deposit(demo, MERCHANT) == 45_000 - 5_800

    phone = await browsers(demo, MERCHANT).start()
    balance = await phone.walk("4", "333333")
    assert balance.words.startswith("您的预存款余额392.00元，佣金余额")

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


async def test_an_agent_allots_deposit_to_one_below(demo: DemoStack, browsers: Browsers) -> None:
    phone = await browsers(demo, LEVEL2).start()
    done = await phone.walk("3", MERCHANT, "100", "222222", "1")
    assert done.words.startswith(f"划拨成功：{MERCHANT}收到100.00元")
    assert await _deposit(demo, LEVEL2) == 200_000 - 10_000
    assert await _deposit(demo, MERCHANT) == 50_000 + 10_000


async def test_a_subscriber_sends_balance_with_the_code_sent_by_sms(
    demo: DemoStack, http: aiohttp.ClientSession, browsers: Browsers
) -> None:
    phone = await browsers(demo, "13900000001").start()
    ask = await phone.walk("1", "13900000002", "5", "1")
    assert ask.words == "验证码已通过短信发送，请输入验证码"
    code = await _sms_code(demo, "13900000001")  # over SMPP, through the SMSC emulator
    done = await phone.walk(code)
    assert done.words.startswith("转赠成功：13900000002收到5.00元。")
    assert (await _subscriber(http, demo, "13900000001"))["balance"] == 500
    assert (await _subscriber(http, demo, "13900000002"))["balance"] == 1500


# --- identity -----------------------------------------------------------------------------


async def test_a_forged_number_header_from_outside_the_gateways_is_ignored(
    tmp_path: Path, http: aiohttp.ClientSession, browsers: Browsers
) -> None:
    stack = await started(tmp_path, wap=WapConfig(allowed_gateways=("10.99.0.0/16",)))
    try:
        forger = await browsers(stack, MERCHANT).start()  # from 127.0.0.1, not a gateway now
        assert forger.words == "请输入您的手机号码"  # not the agent's menu: sign in
        # the header goes on being ignored: typing the number asks for the agent's PIN
        assert (await forger.walk(MERCHANT)).words == "代理商请输入6位密码"
        menu = await forger.walk("333333")
        assert menu.choices == AGENT_MENU
        metrics = await _metrics(http, stack)
    finally:
        await stack.close()
    assert 'aircharge_wap_events_total{event="header_untrusted"} 3.0' in metrics
    assert 'aircharge_wap_events_total{event="signin_ok"} 1.0' in metrics


async def test_a_session_is_bound_to_its_number(demo: DemoStack, browsers: Browsers) -> None:
    phone = await browsers(demo, MERCHANT).start()
    page = phone.fields
    thief = await browsers(demo, LEVEL2).post({**page, "input": "4"})
    assert thief.status == 403
    assert thief.words == "此会话属于其他号码，本次未执行任何操作。 重新开始"
    # and a session opened behind the gateway is not answered from outside it
    outside = await browsers(demo).post({**page, "input": "4"})
    assert outside.status == 403
    # the owner's page is still good
    assert (await phone.walk("4")).words == "请输入6位密码"


async def test_wrong_sign_in_pins_count_per_agent_and_per_source(
    tmp_path: Path, http: aiohttp.ClientSession, browsers: Browsers
) -> None:
    stack = await started(
        tmp_path,
        wap=WapConfig(allowed_gateways=("10.99.0.0/16",)),
        pins=PinsConfig(source_failures_max=3),
    )
    try:
        first = await browsers(stack).start()
        wrong = await first.walk(MERCHANT, "000000")
        assert wrong.words == "密码错误，还可尝试2次。 代理商请输入6位密码"
        assert (await first.walk("000001")).words.startswith("密码错误，还可尝试1次。")
        second = await browsers(stack).start()
        assert (await second.walk(LEVEL2, "000000")).words.startswith("密码错误，还可尝试2次。")
        async with stack.platform.engine.connect() as conn:
            failures = dict(
                (await conn.execute(select(agents.c.msisdn, agents.c.pin_failures))).all()
            )
        assert failures["8613800000003"] == 2
        assert failures["8613800000002"] == 1
        # three wrong PINs from this address: even the right PIN of a third agent is not
        # checked from here now, and counts against nobody
        third = await browsers(stack).start()
        throttled = await third.walk("13800000001", "111111")
        assert throttled.words == "此处密码错误次数过多，请10分钟后再试。 重新开始"
        assert not throttled.has_form
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
    tmp_path: Path, browsers: Browsers
) -> None:
    stack = await started(tmp_path, wap=WapConfig(allowed_gateways=("10.99.0.0/16",)))
    try:
        phone = await browsers(stack, flavour="wml").start()
        locked = await phone.walk(MERCHANT, "000000", "000001", "000002")
        assert locked.words == "密码错误次数过多，账户已锁定30分钟。 重新开始"
        assert await _deposit(stack, MERCHANT) == 50_000
    finally:
        await stack.close()


# --- forms --------------------------------------------------------------------------------


async def test_a_replayed_form_is_refused_and_moves_no_money(
    demo: DemoStack, http: aiohttp.ClientSession, browsers: Browsers
) -> None:
    phone = await browsers(demo, MERCHANT).start()
    confirm = (await phone.walk("1", "13900000001", "50", "333333")).fields
    done = await phone.walk("1")
    assert done.words.startswith("充值成功")
    count = await _operation_count(demo)
    replay = await phone.post({**confirm, "input": "1"})
    assert replay.status == 403
    assert replay.words == "此页面已失效（已提交过或已过期），本次未执行任何操作。 重新开始"
    assert replay.hrefs == ["/wap/"]
    assert await _operation_count(demo) == count
    assert (await _subscriber(http, demo, "13900000001"))["balance"] == 6000
    assert await _deposit(demo, MERCHANT) == 45_000

    # a forged token, and another session's token, are refused the same way
    other = await browsers(demo, MERCHANT).start()
    page = other.fields
    forged = await other.post({**page, "token": "x" * 32, "input": "4"})
    assert forged.status == 403
    theirs = (await phone.start()).fields
    crossed = await other.post({**page, "token": theirs["token"], "input": "4"})
    assert crossed.status == 403
    # none of that spent the real token
    assert (await other.post({**page, "input": "4"})).words == "请输入6位密码"
    metrics = await _metrics(http, demo)
    assert 'aircharge_wap_events_total{event="token_refused"} 3.0' in metrics


async def test_two_posts_of_one_form_at_once_run_it_once(
    demo: DemoStack, http: aiohttp.ClientSession, browsers: Browsers
) -> None:
    phone = await browsers(demo, MERCHANT).start()
    confirm = (await phone.walk("1", "13900000003", "20", "333333")).fields
    answers = await asyncio.gather(
        *(browsers(demo, MERCHANT).post({**confirm, "input": "1"}) for _ in range(4))
    )
    assert sorted(page.status or 0 for page in answers) == [200, 403, 403, 403]
    assert (await _subscriber(http, demo, "13900000003"))["balance"] == 3000


async def test_tokens_and_session_ids_are_stored_only_hashed(
    demo: DemoStack, browsers: Browsers
) -> None:
    page = (await browsers(demo, MERCHANT).start()).fields
    async with demo.platform.engine.connect() as conn:
        tokens = (await conn.execute(select(wap_form_tokens.c.token_hash))).scalars().all()
        sessions = (await conn.execute(select(wap_sessions.c.session_hash))).scalars().all()
    assert len(tokens) == len(sessions) == 1
    assert page["token"] not in tokens
    assert page["session"] not in sessions
    assert len(page["token"]) >= 32


@pytest.mark.parametrize("flavour", ["xhtml", "wml"])
async def test_markup_typed_into_a_field_is_shown_as_text(
    demo: DemoStack, browsers: Browsers, flavour: Flavour
) -> None:
    attack = "<script>alert(1)</script>$(input)&amp;"
    # a header that is no number: the page asks for it
    signin = await browsers(demo, flavour=flavour, headers={"X-MSISDN": attack}).start()
    assert signin.words.startswith("请输入您的手机号码")
    assert "<script" not in signin.body
    # what a handset's keypad would refuse (the field's format, its length), posted as is
    number = await signin.post({**signin.fields, "input": attack})
    assert number.words.startswith("号码无效")
    phone = await browsers(demo, MERCHANT, flavour).start()
    await phone.walk("1", "13900000001")
    page = await phone.post({**phone.fields, "input": attack})
    assert page.words.startswith("金额无效")
    assert "<script" not in page.body
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
