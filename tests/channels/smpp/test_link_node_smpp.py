"""The ESME link over loopback sockets against node-smpp, an SMSC nobody here wrote."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from channels.smpp.link import LinkSettings, SmppLink
from channels.smpp.ussd import UssdAnswer, UssdIndication
from channels.sms.contract import InboundSms, OutboundSms, SubmitFailed, Submitted
from tests.channels.smpp.node_smsc import NodeSmsc

PASSWORD = "pw-7f3a"


class Receiver:
    def __init__(self) -> None:
        self.messages: list[InboundSms] = []
        self.receipts: list[tuple[str, str, str | None]] = []
        self.gate: asyncio.Event | None = None
        self.fail = False

    async def accept(self, message: InboundSms) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("database is down")
        self.messages.append(message)

    async def receipt(self, message_id: str, state: str, error: str | None) -> None:
        self.receipts.append((message_id, state, error))


class Ussd:
    def __init__(self) -> None:
        self.indications: list[UssdIndication] = []

    async def handle(self, indication: UssdIndication) -> UssdAnswer | None:
        self.indications.append(indication)
        if indication.abort:
            return None
        if indication.opens:
            return UssdAnswer("1 Top up\n2 Balance", end=False)
        return UssdAnswer("Balance: 50.00", end=True)


@pytest.fixture
async def smsc() -> AsyncIterator[NodeSmsc]:
    peer = await NodeSmsc.start()
    await peer.send("config", password=PASSWORD)
    await peer.expect("ok")
    yield peer
    await peer.stop()


def settings(smsc: NodeSmsc, **overrides: object) -> LinkSettings:
    values: dict[str, object] = {
        "port": smsc.port, "password": PASSWORD, "reconnect_min_ms": 50, "reconnect_max_ms": 200,
        "response_timeout_ms": 2000,
    }  # fmt: skip
    values.update(overrides)
    return LinkSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def link(smsc: NodeSmsc, receiver: Receiver) -> AsyncIterator[SmppLink]:
    smpp = SmppLink(settings(smsc), receiver=receiver, ussd=Ussd())
    await smpp.start()
    assert await smpp.wait_up(5000)
    await smsc.expect("bind")
    yield smpp
    await smpp.close()


async def test_credentials_refused_bind_retry_reconnect_and_no_secret_in_logs(
    smsc: NodeSmsc, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await smsc.send("config", refuse_binds=1)
    await smsc.expect("ok")
    smpp = SmppLink(settings(smsc))
    await smpp.start()
    assert (await smsc.expect("bind"))["status"] != 0
    bind = await smsc.expect("bind")
    assert (bind["system_id"], bind["password"], bind["status"]) == ("aircharge", PASSWORD, 0)
    assert await smpp.wait_up(5000)
    await smsc.send("drop")
    await smsc.expect("bind")
    assert await smpp.wait_up(5000)
    counts = smpp.counters.snapshot()
    assert counts["bind_failures"] == 1
    assert counts["binds"] == 2
    assert counts["reconnects"] >= 2
    assert counts["up"] == 1
    await smpp.close()
    wrong = SmppLink(settings(smsc, password="wrong-pw"))
    await wrong.start()
    assert (await smsc.expect("bind"))["status"] == 0x0E
    await wrong.close()
    text = caplog.text + repr(smpp) + repr(smpp.settings)
    assert "bound as aircharge" in caplog.text
    assert "refused" in caplog.text
    assert PASSWORD not in text
    assert "wrong-pw" not in text


async def test_mo_acknowledged_only_after_accept(
    smsc: NodeSmsc, link: SmppLink, receiver: Receiver
) -> None:
    receiver.gate = asyncio.Event()
    await smsc.deliver(
        source_addr="8613800000003", destination_addr="1888", data_coding=0,
        short_message="43 5a 20 31 33 39".replace(" ", ""), hex_fields=("short_message",),
    )  # fmt: skip
    await smsc.quiet("deliver_sm_resp", 0.3)
    assert receiver.messages == []
    receiver.gate.set()
    assert (await smsc.expect("deliver_sm_resp"))["status"] == 0
    (message,) = receiver.messages
    assert (message.sender, message.recipient, message.text) == ("8613800000003", "1888", "CZ 139")


async def test_accept_failure_asks_for_redelivery(
    smsc: NodeSmsc, link: SmppLink, receiver: Receiver
) -> None:
    receiver.fail = True
    await smsc.deliver(source_addr="8613800000003", destination_addr="1888",
                       short_message="42414c", hex_fields=("short_message",))  # fmt: skip
    assert (await smsc.expect("deliver_sm_resp"))["status"] == 0x64
    assert link.up


async def test_mo_ucs2_and_undecodable(smsc: NodeSmsc, link: SmppLink, receiver: Receiver) -> None:
    await smsc.deliver(source_addr="8613800000003", destination_addr="1888", data_coding=8,
                       short_message="余额 222222".encode("utf-16-be").hex(),
                       hex_fields=("short_message",))  # fmt: skip
    assert (await smsc.expect("deliver_sm_resp"))["status"] == 0
    assert receiver.messages[-1].text == "余额 222222"
    await smsc.deliver(source_addr="8613800000003", destination_addr="1888", data_coding=8,
                       short_message="d800", hex_fields=("short_message",))  # fmt: skip
    assert (await smsc.expect("deliver_sm_resp"))["status"] == 0x104  # ESME_RINVDCS
    assert link.up


@pytest.mark.parametrize("udh", ["050003", "060804"])
async def test_concatenated_mo(
    smsc: NodeSmsc, link: SmppLink, receiver: Receiver, udh: str
) -> None:
    text = "缴费 13700000001 58 222222" * 4
    data = text.encode("utf-16-be")
    half = len(data) // 2
    for seq, chunk in ((2, data[half:]), (1, data[:half])):  # out of order
        header = f"{udh}{'2a' if udh == '050003' else '012a'}02{seq:02x}"
        await smsc.deliver(source_addr="8613800000002", destination_addr="1888", data_coding=8,
                           esm_class=0x40, short_message=header + chunk.hex(),
                           hex_fields=("short_message",))  # fmt: skip
        assert (await smsc.expect("deliver_sm_resp"))["status"] == 0
    assert [m.text for m in receiver.messages] == [text]


async def test_mt_short_and_long(smsc: NodeSmsc, link: SmppLink) -> None:
    result = await link.submit(OutboundSms(1, "8613900000001", "Balance 50.00", receipt=False))
    assert result == Submitted(("m1",))
    event = await smsc.expect("submit_sm")
    assert (event["data_coding"], event["registered_delivery"], event["udh"]) == (0, 0, [])
    assert event["destination_addr"] == "8613900000001"
    assert event["source_addr"] == "1888"
    text = "充值成功：13900000001 已到账 50.00 元，佣金 1.00 元。" * 3
    result = await link.submit(OutboundSms(2, "8613900000001", text, receipt=True))
    assert isinstance(result, Submitted)
    assert len(result.message_ids) == 2
    parts = [await smsc.expect("submit_sm") for _ in result.message_ids]
    assert {p["data_coding"] for p in parts} == {8}
    assert {p["registered_delivery"] for p in parts} == {1}
    assert [p["udh"][0][-4:] for p in parts] == ["0201", "0202"]
    assert len({p["udh"][0][:6] for p in parts}) == 1, "one reference"
    assert "".join(p["message"] for p in parts) == text


async def test_receipt(smsc: NodeSmsc, link: SmppLink, receiver: Receiver) -> None:
    text = (
        "id:m7 sub:001 dlvrd:001 submit date:2501011200 done date:2501011201 stat:DELIVRD "
        "err:000 text:"
    )
    await smsc.deliver(source_addr="8613900000001", destination_addr="1888", esm_class=4,
                       short_message=text.encode().hex(),
                       hex_fields=("short_message",))  # fmt: skip
    assert (await smsc.expect("deliver_sm_resp"))["status"] == 0
    assert receiver.receipts == [("m7", "DELIVRD", "000")]


async def test_ussd_session_open_continue_end_and_abort(smsc: NodeSmsc, link: SmppLink) -> None:
    handler = link.ussd
    assert isinstance(handler, Ussd)
    await smsc.deliver(source_addr="8613900000001", destination_addr="*123#", data_coding=0x0F,
                       short_message=b"*123#".hex(), ussd_service_op=1, its_session_info="0a00",
                       hex_fields=("short_message", "its_session_info"))  # fmt: skip
    assert (await smsc.expect("deliver_sm_resp"))["status"] == 0
    menu = await smsc.expect("submit_sm")
    assert (menu["ussd_service_op"], menu["its_session_info"], menu["data_coding"]) == (
        2,
        "0a00",
        15,
    )
    assert (menu["source_addr"], menu["destination_addr"]) == ("*123#", "8613900000001")
    await smsc.deliver(source_addr="8613900000001", destination_addr="*123#", data_coding=0x0F,
                       short_message=b"2".hex(), ussd_service_op=18, its_session_info="0a02",
                       hex_fields=("short_message", "its_session_info"))  # fmt: skip
    end = await smsc.expect("submit_sm")
    assert (end["ussd_service_op"], end["its_session_info"]) == (17, "0a03")
    await smsc.deliver(source_addr="8613900000002", destination_addr="*123#", data_coding=0x0F,
                       short_message="", ussd_service_op=18, its_session_info="0b05",
                       hex_fields=("short_message", "its_session_info"))  # fmt: skip
    assert (await smsc.expect("deliver_sm_resp"))["status"] == 0
    await smsc.quiet("submit_sm", 0.3)
    first, second, aborted = handler.indications
    assert first.opens
    assert first.session_key == second.session_key
    assert second.text == "2"
    assert aborted.abort
    assert aborted.session_key != first.session_key


async def test_vendor_status_and_throttling(smsc: NodeSmsc, link: SmppLink) -> None:
    await smsc.send("config", submit_statuses=[0x401, 0x58, 0x14])
    await smsc.expect("ok")
    failed = await link.submit(OutboundSms(1, "8613900000001", "one", receipt=False))
    assert isinstance(failed, SubmitFailed)
    assert "0x00000401" in failed.reason
    assert not failed.temporary
    assert link.up
    result = await link.submit(OutboundSms(2, "8613900000001", "two", receipt=False))
    assert isinstance(result, Submitted)
    statuses = [(await smsc.expect("submit_sm"))["status"] for _ in range(4)]
    assert statuses == [0x401, 0x58, 0x14, 0]
    assert link.counters.snapshot()["submits_throttled"] == 2


async def test_down_link_answers_temporary_failure(smsc: NodeSmsc) -> None:
    smpp = SmppLink(settings(smsc, port=1, down_wait_ms=200))
    await smpp.start()
    result = await smpp.submit(OutboundSms(1, "8613900000001", "x", receipt=False))
    assert result == SubmitFailed("the SMPP link is down", temporary=True)
    await smpp.close()


async def test_enquire_link_both_ways_and_clean_unbind(smsc: NodeSmsc, receiver: Receiver) -> None:
    smpp = SmppLink(settings(smsc, enquire_link_ms=200), receiver=receiver)
    await smpp.start()
    assert await smpp.wait_up(5000)
    await smsc.expect("enquire_link", within_s=3)
    await smsc.send("enquire_link")
    await smsc.expect("enquire_link_resp")
    await smpp.close()
    await smsc.expect("unbind", within_s=2)
    assert not smpp.up
    assert smpp.counters.snapshot()["link_drops"] == 0
