"""SMS notices the operations ask for (SQLite and PostgreSQL): the subscriber hears of a
credit once, so does an agent of an allotment from above (and of deposit taken back), the
agent hears how a `pending` sale ended, the history list goes out by SMS unless the request
came by SMS, and a link that fails never fails the money."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.money import Msisdn
from ledger.operations import OperationRequest
from ledger.operations.contract import Value
from ledger.operations.resolver import SweepReport
from tests.ledger.conftest import MERCHANT, Inbox, open_world

PREPAID = "8613900000001"
POSTPAID = "8613700000001"


async def test_a_posted_topup_tells_the_subscriber_once(engine: AsyncEngine) -> None:
    inbox = Inbox()
    async with open_world(engine, sms=inbox) as world:
        done = await world.topup("k", PREPAID, 5_000)
        assert done.code == "ok"
        assert (await world.topup("k", PREPAID, 5_000)).code == "ok"  # a replay tells nobody
        assert (await world.topup("bad", POSTPAID, 5_000)).code != "ok"  # voided: no notice
        assert inbox.notices == [
            (
                PREPAID,
                "topup_credited",
                {"msisdn": PREPAID, "amount_fen": 5_000, "ref": done.values["ref"]},
                [],
            )
        ]


async def test_an_allotment_tells_the_agent_under_once(engine: AsyncEngine) -> None:
    level2 = Msisdn("8613800000002")
    inbox = Inbox()

    async def allot(name: str, amount: int, key: str) -> str:
        params: dict[str, Value] = {"msisdn": MERCHANT, "amount_fen": amount, "pin": "222222"}
        request = OperationRequest(name, level2, params, key, "sms")
        return (await world.operations.execute(request)).code

    async with open_world(engine, sms=inbox) as world:
        assert await allot("allot", 10_000, "a1") == "ok"
        assert await allot("allot", 10_000, "a1") == "ok"  # a replay tells nobody
        assert await allot("reclaim", 1_000, "r1") == "ok"
        assert await allot("reclaim", 1_000, "r1") == "ok"  # nor does this one
        assert await allot("allot", 10**9, "a2") == "insufficient_funds"  # nothing moved
        assert await allot("reclaim", 10**9, "r2") == "insufficient_funds"
        told = [
            (to, notice, values["amount_fen"], items) for to, notice, values, items in inbox.notices
        ]
        assert told == [
            (MERCHANT, "allot_credited", 10_000, []),
            (MERCHANT, "allot_reclaimed", 1_000, []),
        ]
        assert inbox.notices[0][2]["sender"] == level2


async def test_a_sale_settled_by_the_resolver_tells_the_agent(engine: AsyncEngine) -> None:
    inbox = Inbox()
    async with open_world(engine, sms=inbox) as world:
        await world.set_faults(lost_response_rate=1.0)
        assert (await world.topup("k", PREPAID, 1_000)).code == "pending"
        assert inbox.notices == []
        await world.set_faults()
        assert await world.operations.resolve_due() == SweepReport(posted=1)
        kinds = [(to, notice, values.get("state")) for to, notice, values, _ in inbox.notices]
        assert kinds == [(PREPAID, "topup_credited", None), (MERCHANT, "sale_settled", "posted")]


async def test_history_goes_out_by_sms_unless_asked_by_sms(engine: AsyncEngine) -> None:
    inbox = Inbox()
    async with open_world(engine, sms=inbox) as world:
        await world.topup("k", PREPAID, 1_000)
        inbox.notices.clear()
        for channel in ("sms", "ussd"):
            request = OperationRequest("history", MERCHANT, {"pin": "333333"}, channel, channel)
            assert (await world.operations.execute(request)).code == "ok"
        [(to, notice, values, items)] = inbox.notices
        assert (to, notice, values["count"]) == (MERCHANT, "history", 1)
        assert [(item["kind"], item["msisdn"]) for item in items] == [("topup", PREPAID)]


class BrokenLink(Inbox):
    async def notify(
        self,
        msisdn: Msisdn,
        notice: str,
        values: Mapping[str, Value],
        items: Sequence[Mapping[str, Value]] = (),
    ) -> None:
        raise ConnectionError("the SMS store is away")


async def test_a_failing_link_does_not_fail_the_sale(engine: AsyncEngine) -> None:
    async with open_world(engine, sms=BrokenLink()) as world:
        assert (await world.topup("k", PREPAID, 1_000)).code == "ok"
        assert world.boss_balance(PREPAID) == 2_000
