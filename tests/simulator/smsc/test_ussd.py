from __future__ import annotations

import asyncio

import pytest

from channels.smpp import constants as c
from channels.smpp.coding import encode_text
from channels.smpp.pdu import SubmitSm
from channels.smpp.tlv import (
    USSD_PSSR_INDICATION,
    USSD_PSSR_RESPONSE,
    USSD_SERVICE_OP,
    USSD_USSR_CONFIRM,
    USSD_USSR_REQUEST,
    ItsSessionInfo,
    Tlv,
)
from simulator.smsc import SmscConfig, UssdAborted, UssdEnded, UssdPageShown
from tests.simulator.smsc.esme import Esme, running_smsc

PHONE = "8613900000001"


def page(session: int, op: int, text: str, data_coding: int = 0x0F) -> SubmitSm:
    if data_coding == 0x0F:
        data = encode_text("gsm7", text)
    elif data_coding == 0x11:
        data = encode_text("ucs2-lang", text)
    else:
        data = text.encode("utf-16-be")
    return SubmitSm(
        source_addr="*123#", destination_addr=PHONE, data_coding=data_coding,
        short_message=data,
        tlvs=(Tlv.u8(USSD_SERVICE_OP, op), ItsSessionInfo(session, 1, False).to_tlv()),
    )  # fmt: skip


async def test_dial_menu_reply_and_end_in_every_coding():
    async with running_smsc() as smsc:
        events = smsc.events.subscribe()
        esme = await Esme.connect(smsc.port)
        await esme.bind()
        esme.auto_ack = c.ESME_ROK
        session = smsc.dial(PHONE, "*123#")
        _, opening = await esme.deliver()
        assert opening.ussd_service_op == USSD_PSSR_INDICATION
        assert (opening.data_coding, opening.destination_addr) == (0x0F, "*123#")
        assert opening.short_message == b"*123#"
        info = opening.its_session_info
        assert info is not None
        assert (info.session, info.end) == (session.number, False)
        for coding, text in ((0x0F, "1 Top up\n2 Balance"), (0x08, "1 充值"), (0x48, "2 余额"),
                             (0x11, "3 缴费")):  # fmt: skip
            response = await esme.request(page(info.session, USSD_USSR_REQUEST, text, coding))
            assert response.status == c.ESME_ROK
            shown = await session.next_page()
            assert (shown.text, shown.final) == (text, False)
            session.reply("1" if coding == 0x0F else "好")
            _, answer = await esme.deliver()
            assert answer.ussd_service_op == USSD_USSR_CONFIRM
            assert answer.data_coding == (0x0F if coding == 0x0F else 0x08)
        await esme.request(page(info.session, USSD_PSSR_RESPONSE, "Done"))
        final = await session.next_page()
        assert (final.text, final.final, session.state) == ("Done", True, "ended")
        late = await esme.request(page(info.session, USSD_USSR_REQUEST, "late"))
        assert late.status == c.ESME_RSUBMITFAIL
        kinds = [type(e) for e in events.pending()]
        assert kinds.count(UssdPageShown) == 4
        assert kinds.count(UssdEnded) == 1


async def test_user_abort_and_network_timeout_set_the_end_bit():
    async with running_smsc(SmscConfig(ussd_timeout_s=0.2)) as smsc:
        events = smsc.events.subscribe()
        esme = await Esme.connect(smsc.port)
        await esme.bind()
        esme.auto_ack = c.ESME_ROK
        first = smsc.dial(PHONE)
        await esme.deliver()
        first.abort()
        _, abort = await esme.deliver()
        info = abort.its_session_info
        assert info is not None
        assert (info.session, info.end) == (first.number, True)
        assert (abort.ussd_service_op, abort.short_message) == (USSD_USSR_CONFIRM, b"")
        second = smsc.dial(PHONE)
        await esme.deliver()
        assert second.number != first.number
        _, timed_out = await esme.deliver(wait_s=2)
        info = timed_out.its_session_info
        assert info is not None
        assert (info.session, info.end) == (second.number, True)
        assert second.state == "aborted"
        aborted = [e for e in events.pending() if isinstance(e, UssdAborted)]
        assert [e.reason for e in aborted] == ["user", "timeout"]
        with pytest.raises(asyncio.TimeoutError):
            await second.next_page(wait_s=0.05)


async def test_ussd_only_to_accounts_that_take_it():
    async with running_smsc() as smsc:
        smsc.add_account("smsonly", "pw", ussd=False)
        sms = await Esme.connect(smsc.port)
        await sms.bind(system_id="smsonly", password="pw")
        smsc.dial(PHONE)
        with pytest.raises(TimeoutError):
            await sms.deliver(wait_s=0.2)
        ussd = await Esme.connect(smsc.port)
        await ussd.bind()
        _, opening = await ussd.deliver()
        assert opening.ussd_service_op == USSD_PSSR_INDICATION
