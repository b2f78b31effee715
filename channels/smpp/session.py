"""The ESME side of one SMPP 3.4 connection, sans-IO (h11 style): bytes in, events out.

`EsmeSession` never touches a socket, a timer or the clock: the transport passes `now_ms` to
every call that needs time. It owns

- the bind state machine, a table `(state, transition) -> next state` (`_TRANSITIONS`); any
  other pair is our own programming error (`LocalProtocolError`) or, when the peer caused it,
  answered (generic_nack / ESME_RINVBNDSTS) or fatal (`ConnectionLost`);
- sequence numbers 1..0x7FFFFFFF, wrapping;
- outstanding requests in a dict by sequence number (O(1) correlation), each with a deadline;
  every request shares one time-out, so insertion order is deadline order and `tick` looks
  only at the oldest;
- the window: submit_sm in flight at most `window` (control PDUs do not count);
- enquire_link after `enquire_link_ms` of silence from the peer, and its own time-out;
- automatic answers, queued for `data_to_send()`: enquire_link_resp, unbind_resp,
  generic_nack ESME_RINVCMDID for an unknown command, generic_nack (or the command's response)
  with a malformed PDU's status; a fatal framing error queues a generic_nack and closes.

A response's command_status is an int and never breaks the session (a vendor 0x401 is
returned in `Response.status` like any other). deliver_sm is handed out as `DeliverReceived`;
the application answers it with `deliver_sm_resp(sequence, status)` when it is ready.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from channels.smpp import constants as c
from channels.smpp.errors import PduError
from channels.smpp.pdu import (
    BIND_IDS,
    BindKind,
    BindRequest,
    BindResponse,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    Framer,
    GenericNack,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    UnknownPdu,
    decode,
)

window_default: Final = 64  # submit_sm in flight per connection
response_timeout_ms_default: Final = 10_000
enquire_link_ms_default: Final = 30_000  # silence from the peer before we ask

State = Literal["open", "binding", "bound", "unbinding", "closed"]
Transition = Literal[
    "send_bind", "bind_ok", "bind_refused", "send_unbind", "peer_unbind", "unbind_resp", "close"
]
_TRANSITIONS: Final[dict[tuple[State, Transition], State]] = {
    ("open", "send_bind"): "binding",
    ("open", "close"): "closed",
    ("binding", "bind_ok"): "bound",
    ("binding", "bind_refused"): "closed",
    ("binding", "close"): "closed",
    ("bound", "send_unbind"): "unbinding",
    ("bound", "peer_unbind"): "closed",
    ("bound", "close"): "closed",
    ("unbinding", "unbind_resp"): "closed",
    ("unbinding", "peer_unbind"): "closed",
    ("unbinding", "close"): "closed",
    ("closed", "close"): "closed",
}


class LocalProtocolError(Exception):
    """We asked the session for something its state does not allow (our fault)."""


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bound:
    system_id: str  # the SMSC's


@dataclass(frozen=True, slots=True)
class BindRefused:
    status: int


@dataclass(frozen=True, slots=True)
class Response:
    """The answer to one of our requests (submit_sm, enquire_link, ...), matched by sequence."""

    sequence: int
    command_id: int  # of the request
    status: int  # any int: vendor statuses included
    pdu: Pdu
    token: object  # what the caller passed with the request


@dataclass(frozen=True, slots=True)
class TimedOut:
    sequence: int
    command_id: int
    token: object


@dataclass(frozen=True, slots=True)
class DeliverReceived:
    """A deliver_sm to answer with `deliver_sm_resp(sequence, status)`."""

    sequence: int
    pdu: DeliverSm
    received_ms: int


@dataclass(frozen=True, slots=True)
class Unbound:
    """The session is over: the peer unbound (answered already) or our unbind was answered."""

    by_peer: bool


@dataclass(frozen=True, slots=True)
class ConnectionLost:
    """The byte stream can no longer be trusted, or the peer went silent: drop the link."""

    reason: str
    enquire_link: bool = False  # the peer stopped answering enquire_link


@dataclass(frozen=True, slots=True)
class PeerError:
    """A malformed or unexpected PDU from the peer, answered; the session goes on."""

    error: str
    status: int


Event = (
    Bound | BindRefused | Response | TimedOut | DeliverReceived | Unbound | ConnectionLost
    | PeerError
)  # fmt: skip


@dataclass(slots=True)
class _Outstanding:
    command_id: int
    deadline_ms: int
    token: object


_REQUEST_RESPONSE: Final = {
    **{command_id: command_id | c.RESPONSE_BIT for command_id in BIND_IDS.values()},
    c.SUBMIT_SM: c.SUBMIT_SM_RESP,
    c.ENQUIRE_LINK: c.ENQUIRE_LINK_RESP,
    c.UNBIND: c.UNBIND_RESP,
}
_ENQUIRE_TOKEN: Final = object()


class EsmeSession:
    """One connection's protocol state; see the module docstring."""

    __slots__ = (
        "_enquire_link_ms",
        "_enquire_sequence",
        "_framer",
        "_last_heard_ms",
        "_next_sequence",
        "_outbox",
        "_outstanding",
        "_submits_in_flight",
        "_timeout_ms",
        "state",
        "window",
    )

    def __init__(
        self,
        *,
        now_ms: int,
        window: int = window_default,
        response_timeout_ms: int = response_timeout_ms_default,
        enquire_link_ms: int = enquire_link_ms_default,
        first_sequence: int = 1,
    ) -> None:
        assert window > 0, "the window is positive"
        assert response_timeout_ms > 0, "the time-out is positive"
        assert enquire_link_ms > 0, "the enquire_link interval is positive"
        assert 1 <= first_sequence <= c.sequence_max, "SMPP sequences are 1..0x7FFFFFFF"
        self.state: State = "open"
        self.window = window
        self._timeout_ms = response_timeout_ms
        self._enquire_link_ms = enquire_link_ms
        self._framer = Framer()
        self._next_sequence = first_sequence
        self._outstanding: dict[int, _Outstanding] = {}
        self._submits_in_flight = 0
        self._outbox: list[bytes] = []
        self._last_heard_ms = now_ms
        self._enquire_sequence: int | None = None

    # --- state ------------------------------------------------------------------------------

    def _move(self, transition: Transition) -> None:
        next_state = _TRANSITIONS.get((self.state, transition))
        if next_state is None:
            raise LocalProtocolError(f"{transition} in state {self.state}")
        self.state = next_state

    @property
    def submits_in_flight(self) -> int:
        return self._submits_in_flight

    @property
    def window_free(self) -> int:
        return self.window - self._submits_in_flight

    @property
    def outstanding(self) -> int:
        return len(self._outstanding)

    def _sequence(self) -> int:
        sequence = self._next_sequence
        self._next_sequence = 1 if sequence >= c.sequence_max else sequence + 1
        return sequence

    def _request(self, pdu: Pdu, now_ms: int, token: object) -> tuple[int, bytes]:
        sequence = self._sequence()
        assert sequence not in self._outstanding, "2**31 requests outstanding cannot happen"
        self._outstanding[sequence] = _Outstanding(pdu.command_id, now_ms + self._timeout_ms, token)
        return sequence, pdu.to_bytes(sequence)

    # --- requests we send --------------------------------------------------------------------

    def bind(self, request: BindRequest, now_ms: int) -> bytes:
        self._move("send_bind")
        return self._request(request, now_ms, None)[1]

    def submit(self, pdu: SubmitSm, now_ms: int, token: object = None) -> tuple[int, bytes]:
        """The frame for `pdu` and its sequence; only when bound and the window has room."""
        if self.state != "bound":
            raise LocalProtocolError(f"submit_sm in state {self.state}")
        if self._submits_in_flight >= self.window:
            raise LocalProtocolError(f"the window ({self.window}) is full")
        self._submits_in_flight += 1
        return self._request(pdu, now_ms, token)

    def unbind(self, now_ms: int) -> bytes:
        self._move("send_unbind")
        return self._request(Unbind(), now_ms, None)[1]

    def deliver_sm_resp(self, sequence: int, status: int = c.ESME_ROK) -> bytes:
        """The answer to a `DeliverReceived` (any state but closed: an ack is never refused)."""
        if self.state == "closed":
            raise LocalProtocolError("deliver_sm_resp on a closed session")
        return DeliverSmResp().to_bytes(sequence, status)

    def close(self) -> list[Event]:
        """The connection is gone: every outstanding request times out now."""
        return self._end("close")

    def data_to_send(self) -> bytes:
        """Automatic answers and enquire_links queued since the last call."""
        if not self._outbox:
            return b""
        data = b"".join(self._outbox)
        self._outbox.clear()
        return data

    # --- time ---------------------------------------------------------------------------------

    def tick(self, now_ms: int) -> list[Event]:
        """Requests past their deadline; an enquire_link when the peer has been silent."""
        events: list[Event] = []
        outstanding = self._outstanding
        while outstanding:
            sequence = next(iter(outstanding))
            item = outstanding[sequence]
            if item.deadline_ms > now_ms:
                break
            del outstanding[sequence]
            if item.command_id == c.SUBMIT_SM:
                self._submits_in_flight -= 1
            if item.token is _ENQUIRE_TOKEN:
                self._enquire_sequence = None
                events.append(ConnectionLost("enquire_link was not answered", enquire_link=True))
            else:
                events.append(TimedOut(sequence, item.command_id, item.token))
        if (
            self.state == "bound"
            and self._enquire_sequence is None
            and now_ms - self._last_heard_ms >= self._enquire_link_ms
        ):
            sequence, frame = self._request(EnquireLink(), now_ms, _ENQUIRE_TOKEN)
            self._enquire_sequence = sequence
            self._outbox.append(frame)
        return events

    def next_deadline_ms(self) -> int:
        """When `tick` next has something to do (the transport may sleep until then)."""
        due = self._last_heard_ms + self._enquire_link_ms
        if self._outstanding:
            first = next(iter(self._outstanding.values()))
            due = min(due, first.deadline_ms)
        return due

    # --- bytes from the peer ----------------------------------------------------------------

    def receive_data(self, data: bytes, now_ms: int) -> list[Event]:
        if self.state == "closed":
            return []
        self._last_heard_ms = now_ms
        self._framer.feed(data)
        events: list[Event] = []
        while True:
            try:
                frame = self._framer.next_frame()
                if frame is None:
                    return events
                decoded = decode(frame)
            except PduError as error:
                if self._peer_error(error, events):
                    continue
                return events
            self._dispatch(
                decoded.command_id, decoded.status, decoded.sequence, decoded.pdu, now_ms, events
            )
            if self._is_closed():
                return events

    def _is_closed(self) -> bool:
        return self.state == "closed"

    def _peer_error(self, error: PduError, events: list[Event]) -> bool:
        """Answer a malformed PDU; False when the stream is lost (and the session closed)."""
        sequence = error.sequence or 0
        command_id = error.command_id
        if (
            error.fatal
            or command_id is None
            or c.is_response(command_id)
            or command_id not in _ANSWERABLE
        ):
            self._outbox.append(GenericNack().to_bytes(sequence, error.command_status))
        else:
            self._outbox.append(_ANSWERABLE[command_id].to_bytes(sequence, error.command_status))
        if error.fatal:
            events.extend(self.close())
            events.append(ConnectionLost(str(error)))
            return False
        events.append(PeerError(str(error), error.command_status))
        if command_id is not None and c.is_response(command_id):
            self._settle(error.command_id or 0, error.command_status, sequence, None, events)
        return True

    def _dispatch(
        self, command_id: int, status: int, sequence: int, pdu: Pdu, now_ms: int,
        events: list[Event],
    ) -> None:  # fmt: skip
        if command_id & c.RESPONSE_BIT:
            self._settle(command_id, status, sequence, pdu, events)
        elif command_id == c.DELIVER_SM:
            assert isinstance(pdu, DeliverSm)
            if self.state in ("bound", "unbinding"):
                events.append(DeliverReceived(sequence, pdu, now_ms))
            else:
                self._outbox.append(DeliverSmResp().to_bytes(sequence, c.ESME_RINVBNDSTS))
        elif command_id == c.ENQUIRE_LINK:
            self._outbox.append(EnquireLinkResp().to_bytes(sequence))
        elif command_id == c.UNBIND:
            self._outbox.append(UnbindResp().to_bytes(sequence))
            if (self.state, "peer_unbind") in _TRANSITIONS:
                events.extend(self._end("peer_unbind"))
                events.append(Unbound(by_peer=True))
        elif isinstance(pdu, UnknownPdu):
            self._outbox.append(GenericNack().to_bytes(sequence, c.ESME_RINVCMDID))
            events.append(PeerError(f"unknown {c.command_name(command_id)}", c.ESME_RINVCMDID))
        else:  # a request an SMSC does not send to an ESME (submit_sm, bind, outbind, ...)
            self._outbox.append(GenericNack().to_bytes(sequence, c.ESME_RINVCMDID))
            events.append(
                PeerError(f"{c.command_name(command_id)} from the SMSC", c.ESME_RINVCMDID)
            )

    def _end(self, transition: Transition) -> list[Event]:
        self._move(transition)
        events: list[Event] = [
            TimedOut(sequence, item.command_id, item.token)
            for sequence, item in self._outstanding.items()
        ]
        self._outstanding.clear()
        self._submits_in_flight = 0
        return events

    def _settle(
        self, command_id: int, status: int, sequence: int, pdu: Pdu | None, events: list[Event]
    ) -> None:
        item = self._outstanding.pop(sequence, None)
        if item is None:
            events.append(PeerError(f"{c.command_name(command_id)} for no request", status))
            return
        if command_id != _REQUEST_RESPONSE.get(item.command_id) and command_id != c.GENERIC_NACK:
            events.append(PeerError(f"{c.command_name(command_id)} answers sequence {sequence}",
                                    status))  # fmt: skip
        if item.command_id == c.SUBMIT_SM:
            self._submits_in_flight -= 1
        if item.token is _ENQUIRE_TOKEN:
            self._enquire_sequence = None
            return
        if item.command_id in _BIND_COMMANDS:
            self._bind_answered(status, pdu, events)
            return
        if item.command_id == c.UNBIND:
            events.extend(self._end("unbind_resp"))
            events.append(Unbound(by_peer=False))
            return
        events.append(Response(sequence, item.command_id, status, pdu or GenericNack(), item.token))

    def _bind_answered(self, status: int, pdu: Pdu | None, events: list[Event]) -> None:
        if status == c.ESME_ROK and isinstance(pdu, BindResponse):
            self._move("bind_ok")
            events.append(Bound(pdu.system_id))
        else:
            self._move("bind_refused")
            events.append(BindRefused(status if status != c.ESME_ROK else c.ESME_RBINDFAIL))


_BIND_COMMANDS: Final = frozenset(BIND_IDS.values())
_ANSWERABLE: Final[dict[int, Pdu]] = {
    c.DELIVER_SM: DeliverSmResp(),
    c.ENQUIRE_LINK: EnquireLinkResp(),
    c.UNBIND: UnbindResp(),
    c.SUBMIT_SM: SubmitSmResp(),
}


def bind_request(
    kind: BindKind, system_id: str, password: str, system_type: str = ""
) -> BindRequest:
    return BindRequest(kind=kind, system_id=system_id, password=password, system_type=system_type)


__all__ = [
    "BindRefused",
    "Bound",
    "ConnectionLost",
    "DeliverReceived",
    "EsmeSession",
    "Event",
    "LocalProtocolError",
    "PeerError",
    "Response",
    "State",
    "TimedOut",
    "Unbound",
    "bind_request",
    "enquire_link_ms_default",
    "response_timeout_ms_default",
    "window_default",
]
