"""smpplib (threaded, independent of our codec) as an ESME bound to the emulator."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import smpplib.client
import smpplib.command
import smpplib.consts
import smpplib.exceptions
import smpplib.gsm

from channels.smpp import constants as c
from channels.smpp.tlv import USSD_PSSR_INDICATION
from simulator.smsc import DEMO_PASSWORD, DEMO_SYSTEM_ID, Smsc, SmscConfig
from tests.simulator.smsc.esme import running_smsc, settle

PHONE = "8613900000001"


def patch_smpplib_ussd() -> None:
    # smpplib issue #104: its listener dies on a deliver_sm carrying ussd_service_op, because
    # DeliverSM.params lacks it (SubmitSM has it). Adding the parameter is the known workaround.
    params = smpplib.command.DeliverSM.params
    if "ussd_service_op" not in params:
        params["ussd_service_op"] = smpplib.command.Param(type=int, size=1)


class Peer:
    """An smpplib client; its reads run in a thread, the test awaits with asyncio.to_thread."""

    def __init__(self, port: int) -> None:
        patch_smpplib_ussd()
        self.client = smpplib.client.Client(
            "127.0.0.1", port, timeout=5, allow_unknown_opt_params=True
        )
        self.received: list[Any] = []
        self.sent: list[Any] = []
        self.client.set_message_received_handler(self._received)
        self.client.set_message_sent_handler(lambda pdu, **_: self.sent.append(pdu))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _received(self, pdu: Any, **_: Any) -> int:
        self.received.append(pdu)
        return c.ESME_ROK

    async def bind(self, password: str = DEMO_PASSWORD) -> None:
        await asyncio.to_thread(self.client.connect)
        await asyncio.to_thread(
            self.client.bind_transceiver, system_id=DEMO_SYSTEM_ID, password=password
        )

    def listen(self) -> None:
        def run() -> None:
            self.client._socket.settimeout(0.1)
            while not self._stop.is_set():
                try:
                    self.client.read_once(auto_send_enquire_link=False)
                except TimeoutError:
                    continue
                except OSError:
                    return

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    async def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 2)
        await asyncio.to_thread(self.client.disconnect)


async def send(peer: Peer, text: str, registered: int = 0) -> None:
    parts, coding, esm_class = smpplib.gsm.make_parts(text)
    for part in parts:
        await asyncio.to_thread(
            peer.client.send_message,
            source_addr="1888", destination_addr=PHONE, short_message=part,
            data_coding=coding, esm_class=esm_class, registered_delivery=registered,
        )  # fmt: skip


async def test_smpplib_bad_then_good_credentials():
    async with running_smsc() as smsc:
        peer = Peer(smsc.port)
        with pytest.raises(smpplib.exceptions.PDUError) as error:
            await peer.bind(password="wrong")
        assert error.value.args[1] == c.ESME_RINVPASWD
        await asyncio.to_thread(peer.client.disconnect)
        peer = Peer(smsc.port)
        await peer.bind()
        await settle(lambda: len(smsc.bound) == 1)
        await asyncio.to_thread(peer.client.unbind)
        await asyncio.to_thread(peer.client.disconnect)


async def test_smpplib_mt_mo_receipt_and_ussd():
    async with running_smsc(SmscConfig(receipt_delay_ms=10)) as smsc:
        peer = Peer(smsc.port)
        await peer.bind()
        peer.listen()
        try:
            await exchange(smsc, peer)
        finally:
            await peer.close()


async def exchange(smsc: Smsc, peer: Peer) -> None:
    inbox = smsc.handset(PHONE).inbox
    await send(peer, "Recharge OK", registered=1)
    long_gsm = "Your balance is 50.00 yuan. " * 8
    await send(peer, long_gsm)
    chinese = "您的账户已充值五十元，余额一百元。" * 5
    await send(peer, chinese)
    await settle(lambda: len(inbox) == 3 and len(peer.received) >= 1)
    assert [(m.text, m.data_coding, m.parts) for m in inbox] == [
        ("Recharge OK", 0, 1), (long_gsm, 0, 2), (chinese, 8, 2),
    ]  # fmt: skip
    receipt = peer.received[0]
    assert receipt.esm_class & 0x04
    assert b"stat:DELIVRD" in receipt.short_message
    assert receipt.receipted_message_id.rstrip(b"\0").decode() == inbox[0].message_id
    mo = smsc.send_sms(PHONE, "YE 1234")
    await asyncio.wait_for(mo.delivered, 3)
    assert peer.received[-1].short_message == b"YE 1234"
    assert peer.received[-1].user_message_reference == mo.reference
    smsc.dial(PHONE, "*123#")
    await settle(lambda: len(peer.received) == 3)
    ussd = peer.received[-1]
    assert ussd.ussd_service_op == USSD_PSSR_INDICATION
    assert ussd.data_coding == 0x0F
    assert len(smsc.bound) == 1  # smpplib's listener survived the USSD deliver_sm
