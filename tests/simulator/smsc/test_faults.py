from __future__ import annotations

import asyncio

import pytest

from channels.smpp import constants as c
from channels.smpp.pdu import EnquireLink, SubmitSm
from simulator.smsc import FaultInjected, Faults, MoRedelivered, SmscConfig
from tests.simulator.smsc.esme import Esme, running_smsc, settle

PHONE = "8613900000001"
FAST = SmscConfig(redelivery_ms=50, resp_timeout_ms=200, window_max=8)


def submit(text: bytes = b"hi") -> SubmitSm:
    return SubmitSm(source_addr="1888", destination_addr=PHONE, short_message=text)


async def statuses(esme: Esme, count: int) -> list[int]:
    return [(await esme.request(submit())).status for _ in range(count)]


async def run_statuses(faults: Faults, count: int = 40) -> list[int]:
    async with running_smsc() as smsc:
        smsc.set_faults(faults)
        esme = await Esme.connect(smsc.port)
        await esme.bind()
        return await statuses(esme, count)


async def test_throttle_and_vendor_status_fractions_are_seeded():
    faults = Faults(throttle_rate=0.25, vendor_status_rate=0.25, seed=7)
    first = await run_statuses(faults)
    assert first == await run_statuses(faults)
    assert first != await run_statuses(Faults(throttle_rate=0.25, vendor_status_rate=0.25, seed=8))
    assert {c.ESME_ROK, c.ESME_RTHROTTLED, 0x401} == set(first)


async def test_throttle_above_rate_per_second():
    got = await run_statuses(Faults(throttle_above_per_s=5), 12)
    assert got.count(c.ESME_RTHROTTLED) >= 2  # twelve within one second, or split over two


async def test_slow_responses():
    async with running_smsc() as smsc:
        smsc.set_faults(Faults(submit_latency_ms=150))
        esme = await Esme.connect(smsc.port)
        await esme.bind()
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert (await esme.request(submit())).status == c.ESME_ROK
        assert loop.time() - started >= 0.14


async def test_drop_after_pdus_now_and_by_rate():
    async with running_smsc() as smsc:
        events = smsc.events.subscribe()
        smsc.set_faults(Faults(drop_after_pdus=3))
        esme = await Esme.connect(smsc.port)
        await esme.bind()
        assert (await esme.request(EnquireLink())).status == c.ESME_ROK
        esme.send(EnquireLink())
        assert await esme.closed()
        smsc.set_faults(Faults())
        esme = await Esme.connect(smsc.port)
        await esme.bind()
        await settle(lambda: len(smsc.bound) == 1)
        assert smsc.drop_links() == 1
        assert await esme.closed()
        drops = [e for e in events.pending() if isinstance(e, FaultInjected)]
        assert [e.kind for e in drops] == ["drop link", "drop link"]

        async def pdus_until_drop(seed: int) -> int:
            smsc.set_faults(Faults(drop_rate=0.2, seed=seed))
            esme = await Esme.connect(smsc.port)
            sent = 0
            while True:
                esme.send(EnquireLink())
                sent += 1
                try:
                    await esme.frame(wait_s=1)
                except ConnectionError:
                    return sent

        assert await pdus_until_drop(3) == await pdus_until_drop(3)


async def test_mo_redelivered_after_nack_timeout_and_rebind():
    async with running_smsc(FAST) as smsc:
        events = smsc.events.subscribe()
        esme = await Esme.connect(smsc.port)
        await esme.bind()
        mo = smsc.send_sms(PHONE, "CZ 13900000002 50 1234")
        frame, first = await esme.deliver()
        esme.ack(frame, c.ESME_RX_T_APPN)  # nack: re-sent after T
        frame, again = await esme.deliver()
        assert again == first  # same reference, same content
        _, third = await esme.deliver(wait_s=2)  # no resp at all: re-sent after the timeout
        assert third == first
        await esme.close()  # the link goes with the MO in flight
        await settle(lambda: not smsc.bound)
        fresh = await Esme.connect(smsc.port)
        await fresh.bind()
        frame, fourth = await fresh.deliver(wait_s=2)
        assert fourth == first
        fresh.ack(frame)
        await asyncio.wait_for(mo.delivered, 2)
        assert mo.attempts >= 4
        reasons = [e.reason for e in events.pending() if isinstance(e, MoRedelivered)]
        assert reasons[:2] == ["nack", "timeout"]
        assert "link lost" in reasons


async def test_lost_resp_fault_redelivers_an_acknowledged_mo():
    async def run(seed: int) -> list[str]:
        async with running_smsc(FAST) as smsc:
            smsc.set_faults(Faults(resp_lost_rate=0.5, seed=seed))
            esme = await Esme.connect(smsc.port)
            await esme.bind()
            esme.auto_ack = c.ESME_ROK
            mos = [smsc.send_sms(PHONE, f"BAL {i}") for i in range(10)]
            await asyncio.wait_for(asyncio.gather(*(m.delivered for m in mos)), 5)
            return [p.short_message.decode() for p in esme.delivered]

    first = await run(1)
    assert len(first) > 10
    assert sorted(set(first)) == sorted(f"BAL {i}" for i in range(10))
    assert first == await run(1)


def test_fault_settings_are_checked():
    with pytest.raises(ValueError, match="exceed"):
        Faults(throttle_rate=0.6, vendor_status_rate=0.6)
    with pytest.raises(ValueError, match="0 to 1"):
        Faults(drop_rate=2)
