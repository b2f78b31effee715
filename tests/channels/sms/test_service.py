"""The SMS channel end to end: MO in, operations through the ledger, replies and notices out."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.schema import sms_mo, sms_mt
from channels.sms.contract import SubmitFailed
from dialogs.catalogue import Catalogue
from dialogs.render.sms import sms_segments
from ledger.jobs import open_jobs
from ledger.operations.sms import NOTICES
from ledger.verify import verify
from tests.channels.sms.rig import MERCHANT, Rig, open_rig

SUBSCRIBER = "8613900000001"
TOPUP = "CZ 13900000001 50 333333"


async def _applied(rig: Rig) -> int:
    """Fen BOSS credited the subscriber beyond the start of ¥10.00."""
    return rig.world.boss_balance(SUBSCRIBER) - 1000


async def _check_books(rig: Rig) -> None:
    report = await verify(rig.world.engine)
    assert report.ok, report.problems


def _code(text: str) -> str:
    found = re.search(r"Y (\d{6})", text)
    assert found is not None, text
    return found.group(1)


async def test_a_topup_is_applied_once_answered_and_noticed(engine: AsyncEngine) -> None:
    async with open_rig(engine) as rig:
        await rig.send(TOPUP)
        assert await _applied(rig) == 5000
        [reply] = rig.link.to(MERCHANT)
        assert reply.startswith("充值成功")
        assert "50.00" in reply
        [notice] = rig.link.to(SUBSCRIBER)
        assert "已充值50.00元" in notice
        assert sms_segments(notice) == 1  # UCS-2, one part
        await _check_books(rig)


async def test_a_redelivered_mo_applies_once_and_is_answered_once(engine: AsyncEngine) -> None:
    async with open_rig(engine) as rig:
        await rig.send(TOPUP, reference=7)
        await rig.send(TOPUP, reference=7)
        assert await _applied(rig) == 5000
        assert len(rig.link.to(MERCHANT)) == 1
        assert rig.counters.snapshot()["mo_redeliveries"] == 1


async def test_a_repeat_asks_for_a_code_and_runs_only_after_it(engine: AsyncEngine) -> None:
    async with open_rig(engine) as rig:
        await rig.send(TOPUP)
        await rig.send(TOPUP)
        assert await _applied(rig) == 5000
        asked = rig.link.to(MERCHANT)[-1]
        code = _code(asked)
        await rig.send(f"Y {code}")
        assert await _applied(rig) == 10_000
        await rig.send(f"Y {code}")  # once only: falls through (agents have no confirm)
        assert await _applied(rig) == 10_000
        assert "确认码错误" in rig.link.to(MERCHANT)[-1]
        async with engine.connect() as conn:
            texts = (await conn.execute(select(sms_mt.c.text))).scalars().all()
        assert not any(code in text for text in texts)  # the code is stored masked
        await _check_books(rig)


async def test_a_wrong_or_expired_code_runs_nothing(engine: AsyncEngine) -> None:
    async with open_rig(engine) as rig:
        await rig.send(TOPUP)
        await rig.send(TOPUP)
        code = _code(rig.link.to(MERCHANT)[-1])
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        await rig.send(f"Y {wrong}")
        rig.clock.now_ms += 301_000  # past the confirmation TTL
        await rig.send(f"Y {code}")
        assert await _applied(rig) == 5000


async def test_garbage_gets_help(engine: AsyncEngine) -> None:
    async with open_rig(engine) as rig:
        await rig.send("hello there")
        [reply] = rig.link.to(MERCHANT)
        assert reply == Catalogue.load().template("zh-CN", "sms.help")
        assert not rig.link.sent[0].receipt  # help asks for no receipt


@pytest.mark.parametrize(("sender", "ton"), [("10086", 1), ("Bank", 5)])
async def test_short_codes_and_alphanumeric_senders_get_no_reply(
    engine: AsyncEngine, sender: str, ton: int
) -> None:
    async with open_rig(engine) as rig:
        await rig.service.accept(rig.mo("BZ", sender, ton=ton))
        await rig.service.idle()
        assert rig.link.sent == []
        async with engine.connect() as conn:
            row = (await conn.execute(select(sms_mo))).one()
        assert (row.state, row.sender) == ("ignored", sender)


async def test_replies_stop_at_the_daily_cap(engine: AsyncEngine) -> None:
    async with open_rig(engine) as rig:
        for _ in range(32):
            await rig.service.accept(rig.mo("BZ"))
        await rig.service.idle()
        assert len(rig.link.to(MERCHANT)) == 30
        assert rig.counters.snapshot()["replies_capped"] == 2


async def test_recover_processes_an_mo_stored_before_a_crash_exactly_once(
    engine: AsyncEngine,
) -> None:
    async with open_rig(engine, start=False) as rig:
        jobs = await open_jobs(engine, "test-sms")
        rig.service._mos.start(jobs)  # store only: the crash comes before processing
        await rig.service.accept(rig.mo(TOPUP))
        await rig.service._mos.close()
        await jobs.close()
        assert await _applied(rig) == 0
    async with open_rig(engine) as rig:
        assert await rig.service.recover() == 1
        await rig.service.idle()
        assert await rig.service.recover() == 0
        await rig.service.idle()
        assert await _applied(rig) == 5000
        assert len(rig.link.to(MERCHANT)) == 1
        await _check_books(rig)


async def test_pins_never_reach_stored_mos_or_logs(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with open_rig(engine) as rig:
        await rig.send(TOPUP)
        await rig.send("YE 333333")
        async with engine.connect() as conn:
            rows = (await conn.execute(select(sms_mo.c.text, sms_mo.c.command))).all()
        assert rows
        for text, command in rows:
            assert "333333" not in text
            assert "333333" not in (command or "")
        assert "333333" not in caplog.text


async def test_transient_failures_are_retried_permanent_ones_fail(engine: AsyncEngine) -> None:
    async with open_rig(engine) as rig:
        rig.link.failures = [SubmitFailed("throttled", temporary=True)] * 2
        await rig.send("BZ")
        assert len(rig.link.sent) == 1
        rig.link.failures = [SubmitFailed("0x0000000b bad address", temporary=False)]
        await rig.send("BZ")
        async with engine.connect() as conn:
            rows = (await conn.execute(select(sms_mt.c.state, sms_mt.c.attempts))).all()
        assert sorted(rows) == [("failed", 1), ("submitted", 3)]


async def test_receipts_update_the_mt(engine: AsyncEngine) -> None:
    async with open_rig(engine) as rig:
        await rig.send(TOPUP)
        assert len(rig.link.sent) == 2  # the merchant's reply (m0), the subscriber's notice (m1)
        await rig.service.receipt("m0", "DELIVRD", None)
        await rig.service.receipt("m1", "UNDELIV", "001")
        await rig.service.receipt("nope", "DELIVRD", None)
        async with engine.connect() as conn:
            states = dict((await conn.execute(select(sms_mt.c.id, sms_mt.c.state))).all())
        assert states[rig.link.sent[0].id] == "delivered"
        assert states[rig.link.sent[1].id] == "failed"
        assert rig.counters.snapshot()["receipt_unmatched"] == 1


def test_every_notice_has_a_text_in_both_languages() -> None:
    catalogue = Catalogue.load()
    for notice in NOTICES:
        for language in ("zh-CN", "en"):
            assert catalogue.template(language, f"notice.{notice}")
