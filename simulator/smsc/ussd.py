"""USSD over SMPP, the network side: sessions a handset dials, pages the platform sends.

Forms on the wire (ARCHITECTURE.md, "USSD"), source_addr the MSISDN and destination_addr the
service code in deliver_sm (the other way round in the platform's submit_sm):

- dial: deliver_sm, ussd_service_op 1 (PSSR indication), data_coding 0x0F, the service code as
  text, its_session_info (session number, sequence 0, end bit clear);
- the platform continues with submit_sm ussd_service_op 2 (USSR request): the page is shown and
  the user's answer goes back as deliver_sm ussd_service_op 18 (USSR confirm);
- the platform ends with submit_sm ussd_service_op 17 (PSSR response): the page is the last one;
- **abort** (the user hangs up, or the network time-out of `timeout_s` since the last page or
  answer): deliver_sm with ussd_service_op 18 (USSR confirm), an empty short_message, data_coding
  0x0F and its_session_info carrying the session's number with the **end-of-session bit (bit 0
  of its second octet) set**. The platform's ESME must read that bit before the text: a set end
  bit in a deliver_sm from the network means "the session is gone", never "the user answered
  nothing".

The platform's submit_sm is matched to a session by its its_session_info session number when it
carries one, else by destination_addr (the MSISDN). A submit_sm for no open session is answered
ESME_RSUBMITFAIL, an unknown ussd_service_op ESME_RINVOPTPARAMVAL, text that does not decode
ESME_RINVDCS. Replies are read in 0x0F (GSM 7-bit), 0x08 and 0x48 (UCS-2), 0x11 (UCS-2 with a
language prefix); the user's answers are sent in 0x0F when they fit GSM 7-bit, else 0x08.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from channels.smpp import constants as c
from channels.smpp.coding import CodingMap
from channels.smpp.errors import CodingError, PduValueError
from channels.smpp.pdu import DeliverSm, SubmitSm
from channels.smpp.tlv import (
    USSD_PSSR_INDICATION,
    USSD_PSSR_RESPONSE,
    USSD_SERVICE_OP,
    USSD_USSR_CONFIRM,
    USSD_USSR_REQUEST,
    ItsSessionInfo,
    Tlv,
    its_sequence_max,
)
from simulator.smsc.events import EventBus, UssdAborted, UssdEnded, UssdPageShown
from simulator.smsc.handsets import address_ton_npi

timeout_s_default: Final = 180.0  # the network ends a silent session after this
session_numbers: Final = 256  # its_session_info's session number is one octet
USSD_GSM7: Final = 0x0F

SessionState = Literal["opening", "menu", "answered", "ended", "aborted"]


@dataclass(frozen=True, slots=True)
class UssdPage:
    text: str
    final: bool  # the PSSR response: the session is over


class UssdSession:
    """One dialled session; `next_page()` waits for what the platform shows."""

    def __init__(self, centre: UssdCentre, msisdn: str, service_code: str, number: int) -> None:
        self._centre = centre
        self.msisdn = msisdn
        self.service_code = service_code
        self.number = number  # its_session_info session number
        self.state: SessionState = "opening"
        self.pages: list[UssdPage] = []
        self.sequence = 0  # its_session_info sequence of the next deliver_sm
        self._queue: asyncio.Queue[UssdPage] = asyncio.Queue()
        self.timer: asyncio.TimerHandle | None = None

    @property
    def open(self) -> bool:
        return self.state not in ("ended", "aborted")

    async def next_page(self, wait_s: float = 5.0) -> UssdPage:
        """The next page the platform sends (TimeoutError when none comes within `wait_s`)."""
        return await asyncio.wait_for(self._queue.get(), wait_s)

    def reply(self, text: str) -> None:
        """The user answers the page shown (USSR confirm)."""
        self._centre.reply(self, text)

    def abort(self) -> None:
        """The user hangs up: deliver_sm with the end-of-session bit set."""
        self._centre.abort(self, "user")

    def show(self, page: UssdPage) -> None:
        self.pages.append(page)
        self._queue.put_nowait(page)


class UssdCentre:
    """The sessions by number and by MSISDN; builds the deliver_sm, reads the submit_sm."""

    def __init__(
        self,
        send: Callable[[DeliverSm], None],
        events: EventBus,
        *,
        timeout_s: float = timeout_s_default,
        codings: CodingMap | None = None,
    ) -> None:
        self._send = send
        self._events = events
        self.timeout_s = timeout_s
        self._codings = codings or CodingMap.ussd()
        self.sessions: dict[int, UssdSession] = {}
        self.by_msisdn: dict[str, UssdSession] = {}
        self._next_number = 1

    def dial(self, msisdn: str, service_code: str) -> UssdSession:
        old = self.by_msisdn.get(msisdn)
        if old is not None and old.open:
            self.abort(old, "user")  # a phone has one USSD session at a time
        session = UssdSession(self, msisdn, service_code, self._free_number())
        self.sessions[session.number] = session
        self.by_msisdn[msisdn] = session
        self._deliver(session, USSD_PSSR_INDICATION, service_code, end=False)
        return session

    def reply(self, session: UssdSession, text: str) -> None:
        if session.state != "menu":
            raise RuntimeError(f"session {session.number} shows no menu ({session.state})")
        session.state = "answered"
        self._deliver(session, USSD_USSR_CONFIRM, text, end=False)

    def abort(self, session: UssdSession, reason: Literal["user", "timeout"]) -> None:
        if not session.open:
            return
        self._deliver(session, USSD_USSR_CONFIRM, "", end=True)
        self._close(session, "aborted")
        if self._events.active:
            self._events.publish(UssdAborted(session.msisdn, session.number, reason))

    def on_submit(self, pdu: SubmitSm) -> int:
        """The platform's page: the status for its submit_sm_resp."""
        op = pdu.ussd_service_op
        if op not in (USSD_USSR_REQUEST, USSD_PSSR_RESPONSE):
            return c.ESME_RINVOPTPARAMVAL
        try:
            info = pdu.its_session_info
        except PduValueError:
            return c.ESME_RINVOPTPARAMVAL
        if info is not None:
            session = self.sessions.get(info.session)
        else:
            session = self.by_msisdn.get(pdu.destination_addr)
        if session is None or not session.open or session.msisdn != pdu.destination_addr:
            return c.ESME_RSUBMITFAIL
        try:
            text = self._codings.decode(pdu.data_coding, pdu.payload)
        except CodingError:
            return c.ESME_RINVDCS
        final = op == USSD_PSSR_RESPONSE
        session.show(UssdPage(text, final))
        if final:
            self._close(session, "ended")
            if self._events.active:
                self._events.publish(UssdEnded(session.msisdn, session.number, text))
        else:
            session.state = "menu"
            self._restart_timer(session)
            if self._events.active:
                self._events.publish(UssdPageShown(session.msisdn, session.number, text))
        return c.ESME_ROK

    def close(self) -> None:
        for session in self.sessions.values():
            if session.timer is not None:
                session.timer.cancel()
        self.sessions.clear()
        self.by_msisdn.clear()

    def _deliver(self, session: UssdSession, op: int, text: str, *, end: bool) -> None:
        mt = self._codings.choose_mt_coding(text)  # 0x0F when it fits GSM 7-bit, else 0x08
        info = ItsSessionInfo(session.number, session.sequence, end)
        session.sequence = (session.sequence + 1) % (its_sequence_max + 1)
        ton, npi = address_ton_npi(session.msisdn)
        self._send(
            DeliverSm(
                source_addr_ton=ton,
                source_addr_npi=npi,
                source_addr=session.msisdn,
                destination_addr=session.service_code,
                data_coding=mt.data_coding,
                short_message=self._codings.encode(mt.data_coding, text),
                tlvs=(Tlv.u8(USSD_SERVICE_OP, op), info.to_tlv()),
            )
        )
        if not end:
            self._restart_timer(session)

    def _restart_timer(self, session: UssdSession) -> None:
        if session.timer is not None:
            session.timer.cancel()
        loop = asyncio.get_running_loop()
        session.timer = loop.call_later(self.timeout_s, self.abort, session, "timeout")

    def _close(self, session: UssdSession, state: SessionState) -> None:
        session.state = state
        if session.timer is not None:
            session.timer.cancel()
            session.timer = None
        self.sessions.pop(session.number, None)
        if self.by_msisdn.get(session.msisdn) is session:
            del self.by_msisdn[session.msisdn]

    def _free_number(self) -> int:
        for _ in range(session_numbers):
            number = self._next_number
            self._next_number = (number + 1) % session_numbers
            if number not in self.sessions:
                return number
        raise RuntimeError(f"all {session_numbers} USSD session numbers are in use")
