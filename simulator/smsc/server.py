"""The SMSC emulator: accounts, bound ESMEs, handsets, MO/MT routing, receipts, USSD, faults.

`Smsc` owns everything but the bytes (those are `link.EsmeLink`'s). What it sends (MO parts,
receipts, USSD) waits in an outbox per traffic kind ("sms", "ussd") and goes round-robin to the
bound receiving ESMEs whose account takes that traffic, each bind holding at most its window in
flight. An MO part whose deliver_sm_resp is not ESME_ROK, does not come within
`resp_timeout_ms`, is lost with its link, or is "lost" by the `resp_lost_rate` fault, is sent
again (same PDU: same reference, same content) after `redelivery_ms`, to whichever ESME is bound
then. Receipts are re-sent the same way; USSD deliveries are not (a session does not wait).

MT (submit_sm) parts are reassembled keyed by (source, destination, reference, total), decoded
with the link's coding map, and put in the destination handset's inbox. Unknown destinations get
a handset on the fly, unless `fail_unknown_destinations`: then an UNDELIV receipt (when asked
for) and nothing in any inbox.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from channels.smpp import constants as c
from channels.smpp.coding import CodingMap
from channels.smpp.concat import ConcatError, Reassembler, concat_info
from channels.smpp.errors import CodingError
from channels.smpp.pdu import DeliverSm, SubmitSm
from channels.smpp.receipt import DeliveryReceipt
from simulator.smsc.bench import LatencyRecorder
from simulator.smsc.events import (
    Bound,
    EventBus,
    FaultInjected,
    MoAcked,
    MoRedelivered,
    MoSent,
    MtReceived,
    ReceiptSent,
    Unbound,
)
from simulator.smsc.faults import FaultPlan, Faults
from simulator.smsc.handsets import Handset, InboxMessage, MoMessage, international, mo_pdus
from simulator.smsc.link import CloseReason, EsmeLink, message_id_resp, window_max_default
from simulator.smsc.ussd import UssdCentre, UssdSession, timeout_s_default

logger = logging.getLogger(__name__)

DEMO_SYSTEM_ID: Final = "aircharge"
DEMO_PASSWORD: Final = "demosmpp"  # noqa: S105 -- the demo account's (secrets.smpp_password)
DEFAULT_PORT: Final = 2775
SERVICE_NUMBER: Final = "1888"
REGISTERED_DELIVERY_MASK: Final = 0x03  # SMPP 3.4 5.2.17 bits 1..0: 1 always, 2 on failure
REGISTERED_DELIVERY_FAILURE: Final = 0x02

Traffic = Literal["sms", "ussd"]


@dataclass(frozen=True, slots=True)
class Account:
    """An ESME's credentials and which traffic its binds receive."""

    system_id: str
    password: str
    sms: bool = True
    ussd: bool = True


DEMO_ACCOUNTS: Final = (Account(DEMO_SYSTEM_ID, DEMO_PASSWORD),)


@dataclass(frozen=True, slots=True)
class SmscConfig:
    window_max: int = window_max_default  # deliver_sm in flight per bind
    resp_timeout_ms: int = 10_000  # no deliver_sm_resp by then: the MO is re-delivered
    redelivery_ms: int = 5_000  # wait before re-sending an MO / receipt (T)
    receipt_delay_ms: int = 200  # submit_sm -> delivery receipt
    fail_unknown_destinations: bool = False
    ussd_timeout_s: float = timeout_s_default
    inbox_max: int = 100  # MT messages kept per handset
    sms_codings: CodingMap = field(default_factory=CodingMap.sms)


@dataclass(slots=True, eq=False)
class Delivery:
    """A deliver_sm waiting for its slot or its resp."""

    pdu: DeliverSm
    traffic: Traffic
    mo: MoMessage | None = None
    part: int = 0
    redeliver: bool = True
    receipt_id: str = ""
    timer: asyncio.TimerHandle | None = None


class Smsc:
    """The operator's SMS gateway and USSD centre, as an SMPP 3.4 server."""

    def __init__(
        self,
        accounts: tuple[Account, ...] | list[Account] = DEMO_ACCOUNTS,
        *,
        config: SmscConfig | None = None,
        seed: int = 0,
    ) -> None:
        self.config = config or SmscConfig()
        self.accounts: dict[str, Account] = {a.system_id: a for a in accounts}
        self.handsets: dict[str, Handset] = {}
        self.events = EventBus()
        self.latency = LatencyRecorder()
        self.ussd = UssdCentre(
            lambda pdu: self._enqueue(Delivery(pdu, "ussd", redeliver=False)),
            self.events,
            timeout_s=self.config.ussd_timeout_s,
        )
        self._plan = FaultPlan(Faults(seed=seed))
        self._links: set[EsmeLink] = set()
        self._receivers: list[EsmeLink] = []
        self._rr = 0
        self._outbox: dict[Traffic, deque[Delivery]] = {"sms": deque(), "ussd": deque()}
        self._reassembler = Reassembler()
        self._message_counter = 0
        self._server: asyncio.Server | None = None
        self._closed = False
        self.submits = 0  # submit_sm answered, faults included
        self.mt_messages = 0  # whole MT messages put in an inbox

    # -- life cycle --------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        """Listen; `port=0` picks a free port (see `port`)."""
        loop = asyncio.get_running_loop()
        window = self.config.window_max
        self._server = await loop.create_server(lambda: EsmeLink(self, window), host, port)
        logger.info("SMSC emulator listening on %s:%d", host, self.port)

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        self._closed = True
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.close("shutdown")
        self.ussd.close()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Smsc:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- accounts and handsets ---------------------------------------------------------------

    def add_account(self, system_id: str, password: str, *, sms: bool = True,
                    ussd: bool = True) -> Account:  # fmt: skip
        account = self.accounts[system_id] = Account(system_id, password, sms, ussd)
        return account

    def authenticate(self, system_id: str, password: str) -> int:
        account = self.accounts.get(system_id)
        if account is None:
            return c.ESME_RINVSYSID
        return c.ESME_ROK if password == account.password else c.ESME_RINVPASWD

    def handset(self, msisdn: str) -> Handset:
        """The handset for an address (MSISDN, short code, alphanumeric), created on first use."""
        msisdn = international(msisdn)
        handset = self.handsets.get(msisdn)
        if handset is None:
            handset = self.handsets[msisdn] = Handset(msisdn, self.config.inbox_max)
        return handset

    @property
    def bound(self) -> list[EsmeLink]:
        return [link for link in self._links if link.kind is not None]

    # -- MO ----------------------------------------------------------------------------------

    def send_sms(
        self, sender: str, text: str, to: str = SERVICE_NUMBER, *, udh16: bool = False
    ) -> MoMessage:
        """An MO from `sender`; `await mo.delivered` waits for every part's ESME_ROK."""
        handset = self.handset(sender)
        sender = handset.msisdn
        reference = handset.next_reference()
        concat16 = handset.next_concat16() if udh16 else None
        data_coding, pdus = mo_pdus(sender, to, text, reference, concat16=concat16)
        mo = MoMessage(
            sender, to, text, reference, data_coding, pdus,
            asyncio.get_running_loop().create_future(),
        )  # fmt: skip
        outbox = self._outbox["sms"]
        for part, pdu in enumerate(pdus):
            outbox.append(Delivery(pdu, "sms", mo, part))
        self.latency.mo_sent(sender)
        if self.events.active:
            self.events.publish(MoSent(sender, to, text, reference, len(pdus), data_coding))
        self._pump("sms")
        return mo

    def dial(self, msisdn: str, service_code: str = "*123#") -> UssdSession:
        """Open a USSD session (PSSR indication) from `msisdn`."""
        return self.ussd.dial(international(msisdn), service_code)

    # -- faults ------------------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self._plan.faults

    def set_faults(self, faults: Faults) -> None:
        """Replace the fault settings; restarts the seeded sequence and the PDU counts."""
        self._plan = FaultPlan(faults)
        for link in self._links:
            link.pdus_received = 0
        logger.info("SMSC faults now %s", faults)

    def drop_links(self, system_id: str | None = None) -> int:
        """Close every link (of `system_id`) now, without unbind; how many were closed."""
        links = [link for link in self._links if system_id in (None, link.system_id)]
        for link in links:
            self._fault("drop link", f"{link.system_id or 'unbound'} {link.peer} (now)")
            link.close("dropped")
        return len(links)

    def drop_due(self, link: EsmeLink) -> bool:
        """Called per PDU received: drop the link when a fault says so."""
        faults = self._plan.faults
        after = faults.drop_after_pdus
        if (after and link.pdus_received >= after) or self._plan.drop_now():
            self._fault("drop link", f"{link.system_id or 'unbound'} after {link.pdus_received}")
            link.close("dropped")
            return True
        return False

    def _fault(self, kind: str, detail: str) -> None:
        if self.events.active:
            self.events.publish(FaultInjected(kind, detail))  # type: ignore[arg-type]

    # -- links (called by EsmeLink) ----------------------------------------------------------

    def link_opened(self, link: EsmeLink) -> None:
        self._links.add(link)

    def link_bound(self, link: EsmeLink) -> None:
        if link.receiving:
            self._receivers.append(link)
        if self.events.active:
            self.events.publish(Bound(link.system_id, link.kind or "", link.peer))
        self._pump("sms")
        self._pump("ussd")

    def link_lost(self, link: EsmeLink, reason: CloseReason) -> None:
        self._links.discard(link)
        if link in self._receivers:
            self._receivers.remove(link)
        in_flight, link.in_flight = link.in_flight, {}
        for delivery in in_flight.values():
            self._retry(delivery, "link lost", None)
        if link.kind is not None and self.events.active:
            self.events.publish(Unbound(link.system_id, link.kind, reason))
        self._pump("sms")
        self._pump("ussd")

    def deliver_resp(self, link: EsmeLink, sequence: int, status: int) -> None:
        delivery = link.in_flight.pop(sequence, None)
        if delivery is None:
            return
        if delivery.timer is not None:
            delivery.timer.cancel()
        mo = delivery.mo
        if status != c.ESME_ROK:
            self._retry(delivery, "nack", status)
        elif mo is not None and self._plan.resp_lost():
            self._fault("resp lost", f"MO {mo.msisdn} ref {mo.reference}")
            self._retry(delivery, "resp lost", None)
        elif mo is not None:
            mo.acked_parts.add(delivery.part)
            if len(mo.acked_parts) == len(mo.pdus) and not mo.delivered.done():
                mo.delivered.set_result(None)
                if self.events.active:
                    self.events.publish(MoAcked(mo.msisdn, mo.to, mo.reference, mo.attempts))
        self._pump(delivery.traffic)

    def resp_timed_out(self, link: EsmeLink, sequence: int) -> None:
        delivery = link.in_flight.pop(sequence, None)
        if delivery is not None:
            self._retry(delivery, "timeout", None)
            self._pump(delivery.traffic)

    # -- MT ----------------------------------------------------------------------------------

    def submit(self, link: EsmeLink, pdu: SubmitSm, sequence: int) -> None:
        self.submits += 1
        self._message_counter += 1
        message_id = f"{self._message_counter:x}"
        plan = self._plan
        faults = plan.faults
        fault = plan.submit_fault(time.monotonic())
        if fault == "throttle":
            status = c.ESME_RTHROTTLED
            self._fault("throttle", f"submit_sm {sequence} from {link.system_id}")
        elif fault == "vendor status":
            status = faults.vendor_status
            self._fault("vendor status", f"0x{status:X} to submit_sm {sequence}")
        elif pdu.ussd_service_op is not None:
            status = self.ussd.on_submit(pdu)
        else:
            status = self._accept_mt(pdu, message_id)
        data = message_id_resp(
            c.SUBMIT_SM_RESP, sequence, status, message_id if status == c.ESME_ROK else ""
        )
        if faults.submit_latency_ms:
            asyncio.get_running_loop().call_later(faults.submit_latency_ms / 1000, link.write, data)
        else:
            link.write(data)

    def _accept_mt(self, pdu: SubmitSm, message_id: str) -> int:
        codings = self.config.sms_codings
        try:
            codings.codec(pdu.data_coding)
            info, user_data = concat_info(pdu)
        except (CodingError, ConcatError) as error:
            return error.command_status
        destination = pdu.destination_addr
        handset = self.handsets.get(destination)
        if handset is None and not self.config.fail_unknown_destinations:
            handset = self.handset(destination)
        whole: bytes | None = user_data
        parts = 1
        if info is not None:
            parts = info.total
            key = f"{pdu.source_addr}\0{destination}"  # two phones may pick the same reference
            whole = self._reassembler.add(key, info, user_data, int(time.monotonic() * 1000))
        text = ""
        if whole is not None:
            try:
                text = codings.decode(pdu.data_coding, whole)
            except CodingError:
                text = whole.decode("latin-1")  # parts accepted already: keep what came
            if handset is not None:
                self._received(handset, pdu, text, parts, message_id)
        wanted = pdu.registered_delivery & REGISTERED_DELIVERY_MASK
        if wanted and (handset is None or wanted != REGISTERED_DELIVERY_FAILURE):
            state = "DELIVRD" if handset is not None else "UNDELIV"
            self._schedule_receipt(pdu, message_id, state, text)
        return c.ESME_ROK

    def _received(
        self, handset: Handset, pdu: SubmitSm, text: str, parts: int, message_id: str
    ) -> None:
        handset.receive(InboxMessage(pdu.source_addr, text, pdu.data_coding, parts, message_id))
        self.mt_messages += 1
        self.latency.mt_received(handset.msisdn)
        if self.events.active:
            self.events.publish(
                MtReceived(pdu.source_addr, handset.msisdn, text, pdu.data_coding, parts,
                           message_id)
            )  # fmt: skip

    def _schedule_receipt(self, pdu: SubmitSm, message_id: str, state: str, text: str) -> None:
        now = time.strftime("%y%m%d%H%M")
        receipt = DeliveryReceipt(
            message_id, state, error="000" if state == "DELIVRD" else "001",
            submit_date=now, done_date=now, text=text,
        )  # fmt: skip
        deliver = receipt.to_deliver_sm(
            source_addr=pdu.destination_addr, destination_addr=pdu.source_addr
        )
        delivery = Delivery(deliver, "sms", receipt_id=message_id)
        asyncio.get_running_loop().call_later(
            self.config.receipt_delay_ms / 1000, self._enqueue, delivery
        )

    # -- the outbox --------------------------------------------------------------------------

    def _enqueue(self, delivery: Delivery) -> None:
        if self._closed:
            return
        self._outbox[delivery.traffic].append(delivery)
        self._pump(delivery.traffic)

    def _retry(self, delivery: Delivery, reason: str, status: int | None) -> None:
        if delivery.timer is not None:
            delivery.timer.cancel()
            delivery.timer = None
        if not delivery.redeliver or self._closed:
            return
        mo = delivery.mo
        if mo is not None and self.events.active:
            self.events.publish(
                MoRedelivered(mo.msisdn, mo.to, mo.reference, reason, status)  # type: ignore[arg-type]
            )
        asyncio.get_running_loop().call_later(
            self.config.redelivery_ms / 1000, self._enqueue, delivery
        )

    def _pump(self, traffic: Traffic) -> None:
        """Hand queued deliveries to bound receivers round-robin while windows have room."""
        queue = self._outbox[traffic]
        timeout_s = self.config.resp_timeout_ms / 1000
        while queue:
            link = self._next_receiver(traffic)
            if link is None:
                return
            delivery = queue.popleft()
            if delivery.mo is not None:
                delivery.mo.attempts += 1
            elif delivery.receipt_id and self.events.active:
                pdu = delivery.pdu
                state = "DELIVRD" if b"stat:DELIVRD" in pdu.short_message else "UNDELIV"
                self.events.publish(
                    ReceiptSent(delivery.receipt_id, pdu.source_addr, pdu.destination_addr, state)
                )
            link.send_deliver(delivery, timeout_s)

    def _next_receiver(self, traffic: Traffic) -> EsmeLink | None:
        receivers = self._receivers
        count = len(receivers)
        for offset in range(count):
            index = (self._rr + offset) % count
            link = receivers[index]
            if link.has_room and link.accepts(traffic):
                self._rr = index + 1
                return link
        return None

    # -- inspection --------------------------------------------------------------------------

    def outbox_size(self) -> Mapping[str, int]:
        return {traffic: len(queue) for traffic, queue in self._outbox.items()}
