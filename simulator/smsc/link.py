"""One ESME's TCP connection to the SMSC emulator: framing, bind state, window, batched writes.

A thin asyncio `Protocol` around the codec (`Framer`, `decode`): bytes in, typed frames to the
`Smsc` (which owns routing, handsets and faults), responses out. Writes are gathered and flushed
once per event-loop iteration, so a burst of submit_sm is answered with one `write`. What the
emulator sends (deliver_sm) is held to `window_max` in flight per bind.

Bind states: open (not bound: bind_* and enquire_link are answered, every other request
ESME_RINVBNDSTS), then transceiver / transmitter / receiver. A transmitter does not receive
deliver_sm, a receiver may not submit (ESME_RINVBNDSTS). A second bind is ESME_RALYBND.
Unknown commands, and requests an SMSC does not take, get generic_nack ESME_RINVCMDID; a
malformed PDU gets generic_nack with the codec's status (and the link is dropped when the
stream is lost).
"""

from __future__ import annotations

import asyncio
import logging
import struct
from typing import TYPE_CHECKING, Final, Literal

from channels.smpp import constants as c
from channels.smpp.errors import PduError
from channels.smpp.pdu import (
    BIND_IDS,
    BindKind,
    BindRequest,
    BindResponse,
    DeliverSm,
    Framer,
    SubmitSm,
    UnknownPdu,
    decode,
)

if TYPE_CHECKING:
    from simulator.smsc.server import Account, Delivery, Smsc

logger = logging.getLogger(__name__)

window_max_default: Final = 64  # deliver_sm in flight per bind
smsc_system_id: Final = "AIRCHARGE-SMSC"
_HEADER: Final = struct.Struct("!IIII")
_RECEIVING: Final = frozenset({"transceiver", "receiver"})
_TRANSMITTING: Final = frozenset({"transceiver", "transmitter"})

CloseReason = Literal["unbind", "closed", "dropped", "shutdown"]


def header_only(command_id: int, sequence: int, status: int = c.ESME_ROK) -> bytes:
    return _HEADER.pack(c.header_length, command_id, status, sequence)


def message_id_resp(command_id: int, sequence: int, status: int, message_id: str) -> bytes:
    """submit_sm_resp / deliver_sm_resp without building a dataclass (the hot path)."""
    body = message_id.encode("latin-1") + b"\0"
    return _HEADER.pack(c.header_length + len(body), command_id, status, sequence) + body


class EsmeLink(asyncio.Protocol):
    def __init__(self, smsc: Smsc, window_max: int = window_max_default) -> None:
        assert window_max > 0, "a window holds at least one PDU"
        self._smsc = smsc
        self._framer = Framer()
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self._sequence = 0
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.kind: str | None = None  # None while open (not bound)
        self.account: Account | None = None
        self.window_max = window_max
        self.in_flight: dict[int, Delivery] = {}
        self.pdus_received = 0  # since the faults were last set (for drop_after_pdus)
        self.close_reason: CloseReason = "closed"

    # -- state -------------------------------------------------------------------------------

    @property
    def system_id(self) -> str:
        return self.account.system_id if self.account else ""

    @property
    def receiving(self) -> bool:
        return self.kind in _RECEIVING

    @property
    def has_room(self) -> bool:
        return len(self.in_flight) < self.window_max

    def accepts(self, traffic: str) -> bool:
        account = self.account
        return account is not None and (account.ussd if traffic == "ussd" else account.sms)

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        self._smsc.link_opened(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._smsc.link_lost(self, self.close_reason)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        framer = self._framer
        framer.feed(data)
        while self.transport is not None:
            try:
                frame = framer.next_frame()
                if frame is None:
                    return
                self._handle(frame)
            except PduError as error:
                self._reject(error)
                if error.fatal:
                    self.close("closed")
                    return

    # -- writing -----------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        self._out.append(data)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        out, self._out = self._out, []
        if self.transport is not None and out:
            self.transport.write(b"".join(out))

    def next_sequence(self) -> int:
        self._sequence = self._sequence % c.sequence_max + 1
        return self._sequence

    def send_deliver(self, delivery: Delivery, resp_timeout_s: float) -> None:
        sequence = self.next_sequence()
        self.in_flight[sequence] = delivery
        delivery.timer = self._loop.call_later(
            resp_timeout_s, self._smsc.resp_timed_out, self, sequence
        )
        self.write(delivery.pdu.to_bytes(sequence))

    def send_request(self, pdu: DeliverSm | BindResponse) -> None:
        self.write(pdu.to_bytes(self.next_sequence()))

    def close(self, reason: CloseReason) -> None:
        """Flush what is pending and close; `dropped`: abort at once, like a lost link."""
        if self.transport is None:
            return
        self.close_reason = reason
        if reason == "dropped":
            self._out.clear()
            self.transport.abort()
        else:
            self._flush()
            self.transport.close()

    # -- reading -----------------------------------------------------------------------------

    def _handle(self, raw: bytes) -> None:
        self.pdus_received += 1
        if self._smsc.drop_due(self):
            return
        frame = decode(raw)
        pdu, sequence, command_id = frame.pdu, frame.sequence, frame.command_id
        if command_id == c.SUBMIT_SM:
            assert isinstance(pdu, SubmitSm)
            if self.kind not in _TRANSMITTING:
                self.write(message_id_resp(c.SUBMIT_SM_RESP, sequence, c.ESME_RINVBNDSTS, ""))
                return
            self._smsc.submit(self, pdu, sequence)
        elif command_id in (c.DELIVER_SM_RESP, c.GENERIC_NACK):
            self._smsc.deliver_resp(self, sequence, frame.status)
        elif command_id == c.ENQUIRE_LINK:
            self.write(header_only(c.ENQUIRE_LINK_RESP, sequence))
        elif isinstance(pdu, BindRequest):
            self._bind(pdu.kind, pdu.system_id, pdu.password, sequence)
        elif command_id == c.UNBIND:
            status = c.ESME_ROK if self.kind else c.ESME_RINVBNDSTS
            self.write(header_only(c.UNBIND_RESP, sequence, status))
            if self.kind:
                self.close("unbind")
        elif command_id in (c.ENQUIRE_LINK_RESP, c.UNBIND_RESP):
            return
        elif isinstance(pdu, UnknownPdu) or not c.is_response(command_id):
            # Unknown commands, and known ones an SMSC does not take (deliver_sm, outbind, ...).
            self.write(header_only(c.GENERIC_NACK, sequence, c.ESME_RINVCMDID))
        # other responses (a bind_resp from a confused peer) are ignored

    def _bind(self, kind: BindKind, system_id: str, password: str, sequence: int) -> None:
        command_id = BIND_IDS[kind] | c.RESPONSE_BIT
        if self.kind is not None:
            status = c.ESME_RALYBND
        else:
            status = self._smsc.authenticate(system_id, password)
        if status != c.ESME_ROK:
            self.write(header_only(command_id, sequence, status))
            return
        self.account = self._smsc.accounts[system_id]
        self.kind = kind
        response = BindResponse(
            kind=kind, system_id=smsc_system_id,
            sc_interface_version=c.interface_version_34,
        )  # fmt: skip
        self.write(response.to_bytes(sequence))
        self._smsc.link_bound(self)

    def _reject(self, error: PduError) -> None:
        logger.debug("malformed PDU from %s: %s", self.peer, error)
        self.write(header_only(c.GENERIC_NACK, error.sequence or 0, error.command_status))
