"""The applet's answer SMS on the platform: sealed as the SIM seals it, delivered as an MO to
the SMS channel, checked by the STK gate, run through the ledger once — or refused with the
books unchanged."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.schema import sms_mo, stk_sims
from channels.stk import secure, sims
from channels.stk.secure import protect
from channels.stk.sims import retire
from dialogs.catalogue import Catalogue
from ledger.jobs import open_jobs
from ledger.schema import operations
from ledger.verify import verify
from tests.channels.sms.rig import MERCHANT
from tests.channels.stk.rig import NOW_MS, StkRig, books, new_sim, open_stk_rig

SUBSCRIBER = "8613900000001"
TOPUP = "TOPUP 8613900000001 50 333333"
PIN = "333333"


def applied(rig: StkRig) -> int:
    """Fen BOSS credited the subscriber beyond the start of ¥10.00."""
    return rig.sms.world.boss_balance(SUBSCRIBER) - 1000


async def last_counter(engine: AsyncEngine, sim_id: str) -> int:
    async with engine.connect() as conn:
        query = select(stk_sims.c.last_counter).where(stk_sims.c.sim_id == sim_id)
        return int((await conn.execute(query)).scalar_one())


async def operation_keys(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(operations.c.key))).scalars().all())


async def check_books(engine: AsyncEngine) -> None:
    report = await verify(engine)
    assert report.ok, report.problems


async def test_a_sealed_topup_runs_once_is_answered_and_noticed(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with open_stk_rig(engine) as rig:
        text = rig.seal(TOPUP)
        assert PIN not in text
        await rig.send(text)
        assert applied(rig) == 5000
        [reply] = rig.sms.link.to(MERCHANT)
        assert reply.startswith("充值成功")
        [notice] = rig.sms.link.to(SUBSCRIBER)
        assert "已充值50.00元" in notice
        sim_id = rig.sim.sim_id
        assert await operation_keys(engine) == [f"stk:{sim_id}:1:0:topup"]
        assert await last_counter(engine, sim_id) == 1
        async with engine.connect() as conn:
            row = (await conn.execute(select(sms_mo))).one()
        assert row.text.startswith(f"STK1 {sim_id} 1 TOPUP 8613900000001 50 ")
        assert PIN not in row.text
        assert PIN not in row.command
        assert PIN not in caplog.text
        assert rig.counters.snapshot()["answers_opened"] == 1
        await check_books(engine)


async def test_the_same_sms_again_moves_nothing_more(engine: AsyncEngine) -> None:
    async with open_stk_rig(engine) as rig:
        text = rig.seal(TOPUP)
        await rig.send(text, reference=9)
        await rig.send(text, reference=9)  # the SMSC lost our ack: the same delivery again
        await rig.send(text, reference=10)  # delivered again with another reference
        rig.sms.clock.now_ms += 3_600_000  # and an hour later, outside the window
        await rig.send(text, reference=9)
        assert applied(rig) == 5000
        assert len(rig.sms.link.to(MERCHANT)) == 1  # one receipt, nothing for the copies
        assert rig.sms.counters.snapshot()["mo_redeliveries"] == 3
        assert len(await operation_keys(engine)) == 1


async def test_a_repeat_with_a_new_counter_is_a_new_request(engine: AsyncEngine) -> None:
    async with open_stk_rig(engine) as rig:
        await rig.send(rig.seal(TOPUP))
        await rig.send(rig.seal(TOPUP))  # confirmed again on the SIM's menu: no `Y <code>`
        assert applied(rig) == 10_000
        assert len(rig.sms.link.to(MERCHANT)) == 2
        assert rig.sms.counters.snapshot()["mo_duplicates"] == 0
        await check_books(engine)


def _tamper_body(rig: StkRig) -> tuple[str, str]:
    text = rig.seal(TOPUP)
    head, body = text.rsplit(" ", 1)
    flipped = "A" if body[0] != "A" else "B"
    return f"{head} {flipped}{body[1:]}", MERCHANT


def _change_counter(rig: StkRig) -> tuple[str, str]:
    parts = rig.seal(TOPUP).split(" ")
    parts[2] = str(int(parts[2]) + 1)
    return " ".join(parts), MERCHANT


def _unknown_sim(rig: StkRig) -> tuple[str, str]:
    stranger = secure.SimKeys(bytes(range(16)), bytes(range(16, 32)))
    return protect(TOPUP, "0123456789abcdef", 1, stranger), MERCHANT


def _wrong_sender(rig: StkRig) -> tuple[str, str]:
    return rig.seal(TOPUP), "8613800000002"


def _bad_format(rig: StkRig) -> tuple[str, str]:
    return f"STK1 {rig.sim.sim_id} 01 ab!cd {PIN}", MERCHANT


def _not_a_command(rig: StkRig) -> tuple[str, str]:
    return rig.seal("hello there"), MERCHANT


REFUSED: dict[str, tuple[Callable[[StkRig], tuple[str, str]], str]] = {
    "tampered body": (_tamper_body, "refused_bad_mac"),
    "changed counter": (_change_counter, "refused_bad_mac"),
    "unknown SIM": (_unknown_sim, "refused_unknown_sim"),
    "wrong sender": (_wrong_sender, "refused_wrong_sender"),
    "bad format": (_bad_format, "refused_bad_format"),
}


@pytest.mark.parametrize("case", REFUSED)
async def test_a_refused_answer_changes_nothing_and_is_not_answered(
    engine: AsyncEngine, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    make, event = REFUSED[case]
    async with open_stk_rig(engine) as rig:
        before = await books(engine)
        text, sender = make(rig)
        await rig.send(text, sender)
        assert await books(engine) == before
        assert rig.sms.link.sent == []
        assert rig.counters.snapshot()[event] == 1
        assert await last_counter(engine, rig.sim.sim_id) == 0
        async with engine.connect() as conn:
            row = (await conn.execute(select(sms_mo))).one()
        assert (row.state, row.outcome) == ("ignored", "stk_" + event.removeprefix("refused_"))
        assert PIN not in row.text
        assert PIN not in caplog.text
        assert "refused" in caplog.text
        # the genuine SIM still works afterwards
        await rig.send(rig.seal(TOPUP))
        assert applied(rig) == 5000


async def test_an_old_counter_is_refused_and_answered(engine: AsyncEngine) -> None:
    async with open_stk_rig(engine) as rig:
        first = rig.seal(TOPUP)
        await rig.send(rig.seal(TOPUP, counter=5))
        before = await books(engine)
        await rig.send(first)  # counter 1 after 5: a replay, or a SIM whose counter went back
        await rig.send(rig.seal("BAL 333333", counter=5))  # the last counter, another text
        assert await books(engine) == before
        assert applied(rig) == 5000
        old = Catalogue.load().template("zh-CN", "sms.stk_old_counter")
        assert rig.sms.link.to(MERCHANT)[1:] == [old, old]
        assert rig.counters.snapshot()["refused_old_counter"] == 2
        assert await last_counter(engine, rig.sim.sim_id) == 5


async def test_a_sealed_text_that_is_no_command_is_refused_and_answered(
    engine: AsyncEngine,
) -> None:
    """Past the MAC the SIM is proven: the agent learns that nothing was done."""
    async with open_stk_rig(engine) as rig:
        before = await books(engine)
        await rig.send(rig.seal("TOPUP 8613900000001 abc 333333"))  # letters in the amount
        await rig.send(_not_a_command(rig)[0])
        assert await books(engine) == before
        answer = Catalogue.load().template("zh-CN", "sms.stk_bad_command")
        assert rig.sms.link.to(MERCHANT) == [answer, answer]
        assert rig.counters.snapshot()["refused_bad_command"] == 2
        assert await last_counter(engine, rig.sim.sim_id) == 0
        await rig.send(rig.seal(TOPUP))
        assert applied(rig) == 5000


@pytest.mark.parametrize("reference", [None, 7])
async def test_a_copy_from_another_number_does_not_pass_for_the_sims_own(
    engine: AsyncEngine, reference: int | None
) -> None:
    """The copy is refused (wrong sender); the SIM's own message, the same text, still runs."""
    async with open_stk_rig(engine) as rig:
        text = rig.seal(TOPUP)
        await rig.send(text, "8613800000002", reference)
        await rig.send(text, MERCHANT, reference)
        assert applied(rig) == 5000
        snapshot = rig.counters.snapshot()
        assert (snapshot["refused_wrong_sender"], snapshot["answers_opened"]) == (1, 1)


async def test_a_retired_sim_is_refused(engine: AsyncEngine) -> None:
    async with open_stk_rig(engine) as rig:
        await retire(engine, rig.sim.sim_id, NOW_MS)
        before = await books(engine)
        await rig.send(rig.seal(TOPUP))
        assert await books(engine) == before
        assert rig.sms.link.sent == []
        assert rig.counters.snapshot()["refused_retired_sim"] == 1


async def test_a_new_sim_retires_the_old_one(engine: AsyncEngine) -> None:
    async with open_stk_rig(engine) as rig:
        old_text = rig.seal(TOPUP)
        replacement = await new_sim(engine)
        await rig.send(old_text)
        assert rig.counters.snapshot()["refused_retired_sim"] == 1
        rig.sim, rig.next_counter = replacement, 1
        await rig.send(rig.seal(TOPUP))
        assert applied(rig) == 5000


async def test_recover_runs_an_answer_stored_before_a_crash_exactly_once(
    engine: AsyncEngine,
) -> None:
    async with open_stk_rig(engine, start=False) as rig:
        sim = rig.sim
        text = rig.seal(TOPUP)
        jobs = await open_jobs(engine, "test-stk")
        rig.sms.service._mos.start(jobs)  # store only: the crash comes before processing
        await rig.sms.service.accept(rig.sms.mo(text, reference=3))
        await rig.sms.service._mos.close()
        await jobs.close()
        assert applied(rig) == 0
        assert await last_counter(engine, sim.sim_id) == 1  # stored and claimed together
    async with open_stk_rig(engine, sim=sim) as rig:
        assert await rig.sms.service.recover() == 1
        await rig.sms.service.idle()
        assert await rig.sms.service.recover() == 0
        await rig.send(text, reference=3)  # the SMSC's copy after the restart
        assert applied(rig) == 5000
        assert len(rig.sms.link.to(MERCHANT)) == 1
        await check_books(engine)


async def test_a_crash_before_the_commit_leaves_the_counter_for_the_redelivery(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_claim = sims.claim

    def claim_then_crash(conn: Connection, sim_id: str, counter: int, digest: str) -> str | None:
        real_claim(conn, sim_id, counter, digest)  # the counter moves inside the transaction...
        raise OSError("disk gone")  # ...which never commits

    async with open_stk_rig(engine) as rig:
        text = rig.seal(TOPUP)
        monkeypatch.setattr(sims, "claim", claim_then_crash)
        with pytest.raises(OSError, match="disk gone"):  # the link sends no ack
            await rig.sms.service.accept(rig.sms.mo(text, reference=4))
        assert await last_counter(engine, rig.sim.sim_id) == 0
        monkeypatch.setattr(sims, "claim", real_claim)
        await rig.send(text, reference=4)  # the SMSC delivers it again
        assert applied(rig) == 5000
        assert await last_counter(engine, rig.sim.sim_id) == 1
