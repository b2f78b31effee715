from __future__ import annotations

import asyncio

from channels.smpp import constants as c
from channels.smpp.coding import encode_text
from channels.smpp.pdu import BindRequest, DeliverSm, SubmitSm
from simulator.smsc import (
    DEMO_PASSWORD,
    Event,
    EventBus,
    MoSent,
    measure_submit_rate,
    send_mo_at_rate,
)
from tests.simulator.smsc.esme import Esme, running_smsc, settle


async def test_mo_at_rate_and_mo_to_first_mt_latency():
    async with running_smsc() as smsc:
        esme = await Esme.connect(smsc.port)
        await esme.bind()
        replied: list[str] = []

        async def answer() -> None:
            while True:
                frame = await esme.frame()
                if isinstance(frame.pdu, DeliverSm):
                    esme.ack(frame)
                    sender = frame.pdu.source_addr
                    replied.append(sender)
                    esme.send(SubmitSm(source_addr="1888", destination_addr=sender,
                                       short_message=encode_text("gsm7", "OK")))  # fmt: skip

        task = asyncio.create_task(answer())
        senders = [f"86139000{i:05d}" for i in range(20)]
        elapsed = await send_mo_at_rate(smsc, senders, lambda s, i: f"BAL {i}", 400, 40)
        assert 0.05 < elapsed < 2
        await settle(lambda: len(replied) == 40 and smsc.latency.waiting == 0)
        task.cancel()
        assert 20 <= smsc.latency.count <= 40  # a sender's second MO may precede its first MT
        assert 0 < smsc.latency.percentile(0.5) < 1
        assert smsc.handset(senders[0]).received_total == 2


async def test_inbox_is_bounded_and_counts_the_rest():
    async with running_smsc() as smsc:
        esme = await Esme.connect(smsc.port)
        await esme.bind()
        for _ in range(105):
            esme.send(SubmitSm(source_addr="1888", destination_addr="86139", short_message=b"x"))
        await settle(lambda: smsc.mt_messages == 105)
        handset = smsc.handset("86139")
        assert (len(handset.inbox), handset.received_total) == (100, 105)


def test_slow_subscriber_drops_oldest_and_counts():
    bus = EventBus()
    seen: list[Event] = []
    bus.add_callback(seen.append)
    subscription = bus.subscribe(maxlen=3)
    for i in range(5):
        bus.publish(MoSent("8613900000001", "1888", str(i), i, 1, 0))
    assert [getattr(e, "text", None) for e in subscription.pending()] == ["2", "3", "4"]
    assert subscription.dropped == 2
    assert len(seen) == 5
    subscription.close()
    bus.remove_callback(seen.append)
    assert not bus.active


async def test_codec_bind_with_the_password_cut_to_eight_characters():
    async with running_smsc() as smsc:
        esme = await Esme.connect(smsc.port)
        response = await esme.request(
            BindRequest(kind="transmitter", system_id="aircharge", password=DEMO_PASSWORD)
        )
        assert response.status == c.ESME_ROK


async def test_raw_submit_client_measures_a_rate():
    async with running_smsc() as smsc:
        rate = await measure_submit_rate("127.0.0.1", smsc.port, 2_000)
        assert rate > 100
        assert smsc.submits == 2_000
