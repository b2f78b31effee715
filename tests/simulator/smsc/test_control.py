"""The SMSC emulator's HTTP control API: a handset's MO reaches a bound ESME, an MT lands in
the handset's inbox, a USSD session is walked page by page, faults are set; bad input is 400
and changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from channels.smpp import constants as c
from channels.smpp.coding import encode_text
from channels.smpp.pdu import SubmitSm
from channels.smpp.tlv import USSD_PSSR_RESPONSE, USSD_SERVICE_OP, USSD_USSR_REQUEST, Tlv
from simulator.smsc import Faults, Smsc
from simulator.smsc.control import create_control_app
from tests.simulator.smsc.esme import Esme, running_smsc

PHONE = "13800000003"
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def smsc() -> AsyncIterator[Smsc]:
    async with running_smsc() as running:
        yield running


@pytest.fixture
async def client(smsc: Smsc) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_control_app(smsc))) as test_client:
        yield test_client


async def test_an_mo_reaches_the_esme_and_an_mt_the_inbox(smsc: Smsc, client: Client) -> None:
    esme = await Esme.connect(smsc.port)
    await esme.bind()
    esme.auto_ack = c.ESME_ROK
    sent = await client.post("/smsc/sms", json={"from": PHONE, "text": "YE 333333"})
    assert (sent.status, (await sent.json())["parts"]) == (202, 1)
    _, mo = await esme.deliver()
    assert (mo.source_addr, mo.destination_addr) == ("86" + PHONE, "1888")  # international
    assert mo.short_message == b"YE 333333"
    reply = SubmitSm(
        source_addr="1888", destination_addr=PHONE, data_coding=8,
        short_message=encode_text("ucs2", "余额450.00元"),
    )  # fmt: skip
    assert (await esme.request(reply)).status == c.ESME_ROK
    box = await (await client.get(f"/smsc/handsets/{PHONE}/inbox")).json()
    assert box["received_total"] == 1
    assert [(m["sender"], m["text"], m["data_coding"]) for m in box["messages"]] == [
        ("1888", "余额450.00元", 8)
    ]
    await esme.close()


async def test_a_ussd_session_page_by_page(smsc: Smsc, client: Client) -> None:
    esme = await Esme.connect(smsc.port)
    await esme.bind()
    esme.auto_ack = c.ESME_ROK

    async def page(op: int, text: str) -> None:
        _, indication = await esme.deliver()
        session = indication.its_session_info
        assert session is not None
        tlvs = (session.to_tlv(), Tlv.u8(USSD_SERVICE_OP, op))
        answer = SubmitSm(
            source_addr="*123#", destination_addr=indication.source_addr, data_coding=0x0F,
            short_message=encode_text("gsm7", text), tlvs=tlvs,
        )  # fmt: skip
        assert (await esme.request(answer)).status == c.ESME_ROK

    dialled = client.post("/smsc/ussd", json={"msisdn": PHONE})
    first_page = page(USSD_USSR_REQUEST, "1. Top up")
    response, _ = await asyncio.gather(dialled, first_page)
    first = await response.json()
    assert (first["text"], first["end"]) == ("1. Top up", False)
    answered = client.post(f"/smsc/ussd/{first['session']}", json={"text": "1"})
    response, _ = await asyncio.gather(answered, page(USSD_PSSR_RESPONSE, "Bye"))
    assert await response.json() == {"session": first["session"], "text": "Bye", "end": True}
    ended = await client.post(f"/smsc/ussd/{first['session']}", json={"text": "2"})
    assert ended.status == 409
    await esme.close()


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [
        ("/smsc/sms", {"text": "x"}, "missing field 'from'"),
        ("/smsc/sms", {"from": PHONE, "text": "x", "pin": 1}, "unexpected field 'pin'"),
        ("/smsc/sms", {"from": "", "text": "x"}, "from must be"),
        ("/smsc/sms", {"from": PHONE, "text": 5}, "text must be"),
        ("/smsc/ussd", {"dial": "*123#"}, "missing field 'msisdn'"),
    ],
)
async def test_bad_input_is_400_and_sends_nothing(
    smsc: Smsc, client: Client, path: str, body: dict[str, object], reason: str
) -> None:
    response = await client.post(path, json=body)
    assert response.status == 400
    assert reason in (await response.json())["error"]
    assert smsc.handset(PHONE).next_reference() == 0  # no MO took a reference


async def test_faults_are_set_and_read_back(smsc: Smsc, client: Client) -> None:
    response = await client.put("/smsc/faults", json={"throttle_rate": 0.25, "seed": 7})
    assert response.status == 200
    assert smsc.faults == Faults(throttle_rate=0.25, seed=7)
    assert (await (await client.get("/smsc/faults")).json())["throttle_rate"] == 0.25
    refused = await client.put("/smsc/faults", json={"throttle_rate": 2})
    assert refused.status == 400
    assert smsc.faults.throttle_rate == 0.25
