from __future__ import annotations

import asyncio
import struct

import pytest

from channels.smpp import constants as c
from channels.smpp.coding import encode_text
from channels.smpp.concat import split_text
from channels.smpp.pdu import (
    BindResponse,
    EnquireLink,
    SubmitSm,
    SubmitSmResp,
    Unbind,
)
from channels.smpp.receipt import parse_receipt
from channels.smpp.tlv import USER_MESSAGE_REFERENCE, tlv_int
from simulator.smsc import (
    Bound,
    MoAcked,
    MtReceived,
    ReceiptSent,
    SmscConfig,
    Unbound,
)
from tests.simulator.smsc.esme import Esme, running_smsc, settle

PHONE = "8613900000001"


async def test_bind_credentials_and_states():
    async with running_smsc() as smsc:
        esme = await Esme.connect(smsc.port)
        early = await esme.request(SubmitSm(source_addr="1888", destination_addr=PHONE))
        assert early.status == c.ESME_RINVBNDSTS
        assert (await esme.request(Unbind())).status == c.ESME_RINVBNDSTS
        assert (await esme.request(EnquireLink())).status == c.ESME_ROK
        assert (await esme.bind(system_id="nobody")).status == c.ESME_RINVSYSID
        assert (await esme.bind(password="wrong")).status == c.ESME_RINVPASWD
        ok = await esme.bind()
        assert ok.status == c.ESME_ROK
        assert isinstance(ok.pdu, BindResponse)
        assert ok.pdu.sc_interface_version == 0x34
        assert (await esme.bind()).status == c.ESME_RALYBND
        assert (await esme.request(Unbind())).status == c.ESME_ROK
        assert await esme.closed()


async def test_receiver_may_not_submit_and_unknown_commands_are_nacked():
    async with running_smsc() as smsc:
        esme = await Esme.connect(smsc.port)
        await esme.bind("receiver")
        response = await esme.request(SubmitSm(source_addr="1888", destination_addr=PHONE))
        assert response.status == c.ESME_RINVBNDSTS
        esme.send_raw(struct.pack("!IIII", 16, 0x42, 0, 77))
        nack = await esme.frame()
        assert (nack.command_id, nack.status, nack.sequence) == (
            c.GENERIC_NACK, c.ESME_RINVCMDID, 77,
        )  # fmt: skip
        # a submit_sm whose short_message runs past the body: malformed
        bad = SubmitSm(source_addr="1888", destination_addr=PHONE, short_message=b"hi").to_bytes(9)
        esme.send_raw(bad[:-2] + b"")  # cut the body; fix the length so the frame is whole
        esme.send_raw(b"")
        await esme.close()
        esme = await Esme.connect(smsc.port)
        await esme.bind()
        truncated = bytearray(bad[:-1])
        truncated[0:4] = len(truncated).to_bytes(4, "big")
        esme.send_raw(bytes(truncated))
        nack = await esme.frame()
        assert nack.command_id == c.GENERIC_NACK
        assert nack.status == c.ESME_RINVMSGLEN
        assert nack.sequence == 9


async def test_mo_round_robin_gsm_ucs2_long_and_reference():
    async with running_smsc() as smsc:
        events = smsc.events.subscribe()
        one, two = await Esme.connect(smsc.port), await Esme.connect(smsc.port)
        await one.bind()
        await two.bind("receiver")
        one.auto_ack = two.auto_ack = c.ESME_ROK
        first = smsc.send_sms(PHONE, "CZ 13900000002 50 1234")
        second = smsc.send_sms(PHONE, "充值 13900000002 50 1234")
        await asyncio.wait_for(asyncio.gather(first.delivered, second.delivered), 3)
        assert len(one.delivered) == len(two.delivered) == 1
        gsm, ucs2 = one.delivered[0], two.delivered[0]
        assert (gsm.data_coding, ucs2.data_coding) == (0x00, 0x08)
        assert gsm.short_message == encode_text("gsm7", "CZ 13900000002 50 1234")
        assert ucs2.short_message.decode("utf-16-be") == "充值 13900000002 50 1234"
        assert (gsm.user_message_reference, ucs2.user_message_reference) == (0, 1)
        assert (gsm.source_addr, gsm.destination_addr) == (PHONE, "1888")
        long = smsc.send_sms("95588", "x" * 200, udh16=True)
        await asyncio.wait_for(long.delivered, 3)
        parts = one.delivered[1:] + two.delivered[1:]
        assert len(parts) == 2
        assert all(p.esm_class & 0x40 and p.short_message[:3] == b"\x06\x08\x04" for p in parts)
        assert {p.short_message[3:5] for p in parts} == {b"\x12\x34"}
        assert all(tlv_int(p.tlvs, USER_MESSAGE_REFERENCE) == 0 for p in parts)
        kinds = [type(e) for e in events.pending()]
        assert kinds.count(Bound) == 2
        assert kinds.count(MoAcked) == 3


async def test_mt_short_long_ucs2_and_receipt():
    config = SmscConfig(receipt_delay_ms=10)
    async with running_smsc(config) as smsc:
        events = smsc.events.subscribe()
        esme = await Esme.connect(smsc.port)
        await esme.bind()
        resp = await esme.request(
            SubmitSm(source_addr="1888", destination_addr=PHONE, registered_delivery=1,
                     short_message=encode_text("gsm7", "Top-up OK {50}"))
        )  # fmt: skip
        assert resp.status == c.ESME_ROK
        assert isinstance(resp.pdu, SubmitSmResp)
        message_id = resp.pdu.message_id
        frame, receipt = await esme.deliver()
        esme.ack(frame)
        parsed = parse_receipt(receipt)
        assert parsed is not None
        assert (parsed.message_id, parsed.state) == (message_id, "DELIVRD")
        assert receipt.esm_class == 0x04
        text = "您的账户已充值五十元。" * 8
        ids = set()
        for part in split_text(text, "ucs2", 7):
            answer = await esme.request(
                SubmitSm(source_addr="1888", destination_addr=PHONE, esm_class=part.esm_class,
                         data_coding=0x08, short_message=part.short_message)
            )  # fmt: skip
            assert answer.status == c.ESME_ROK
            assert isinstance(answer.pdu, SubmitSmResp)
            ids.add(answer.pdu.message_id)
        inbox = smsc.handset(PHONE).inbox
        assert [(m.text, m.data_coding, m.parts) for m in inbox] == [
            ("Top-up OK {50}", 0, 1), (text, 0x08, 2),
        ]  # fmt: skip
        assert len(ids | {message_id}) == 3
        seen = events.pending()
        assert [type(e) for e in seen if isinstance(e, MtReceived | ReceiptSent)] == [
            MtReceived, ReceiptSent, MtReceived,
        ]  # fmt: skip


async def test_parts_are_keyed_by_sender_and_unknown_destinations_fail():
    config = SmscConfig(receipt_delay_ms=1, fail_unknown_destinations=True)
    async with running_smsc(config) as smsc:
        smsc.handset("8613900000002")
        smsc.handset(PHONE)
        esme = await Esme.connect(smsc.port)
        await esme.bind()
        a = split_text("a" * 170, "gsm7", 5)
        b = split_text("b" * 170, "gsm7", 5)
        for first, second in zip(a, b, strict=True):
            for source, part in (("1888", first), ("95588", second)):
                await esme.request(
                    SubmitSm(
                        source_addr=source,
                        destination_addr=PHONE,
                        esm_class=0x40,
                        short_message=part.short_message,
                    )
                )
        texts = sorted(m.text for m in smsc.handset(PHONE).inbox)
        assert texts == ["a" * 170, "b" * 170]
        await esme.request(
            SubmitSm(
                source_addr="1888",
                destination_addr="8613000000000",
                registered_delivery=1,
                short_message=b"hi",
            )
        )
        _, receipt = await esme.deliver()
        parsed = parse_receipt(receipt)
        assert parsed is not None
        assert parsed.state == "UNDELIV"
        assert "8613000000000" not in smsc.handsets


async def test_window_caps_deliver_sm_in_flight():
    async with running_smsc(SmscConfig(window_max=3)) as smsc:
        esme = await Esme.connect(smsc.port)
        await esme.bind()
        mos = [smsc.send_sms(PHONE, f"m{i}") for i in range(5)]
        frames = [(await esme.deliver())[0] for _ in range(3)]
        with pytest.raises(TimeoutError):
            await esme.deliver(wait_s=0.2)
        for frame in frames:
            esme.ack(frame)
        esme.auto_ack = c.ESME_ROK
        for _ in range(2):
            esme.ack((await esme.deliver())[0])
        await asyncio.wait_for(asyncio.gather(*(m.delivered for m in mos)), 3)


async def test_unbind_event_and_several_binds():
    async with running_smsc() as smsc:
        events = smsc.events.subscribe()
        esmes = [await Esme.connect(smsc.port) for _ in range(3)]
        for esme in esmes:
            await esme.bind()
        await settle(lambda: len(smsc.bound) == 3)
        await esmes[0].request(Unbind())
        await settle(lambda: len(smsc.bound) == 2)
        unbound = [e for e in events.pending() if isinstance(e, Unbound)]
        assert [e.reason for e in unbound] == ["unbind"]
