"""The sans-IO ESME session driven with byte fixtures: no sockets, no clock."""

from __future__ import annotations

import struct

import pytest

from channels.smpp import constants as c
from channels.smpp.pdu import (
    BindResponse,
    DeliverSm,
    EnquireLink,
    SubmitSm,
    SubmitSmResp,
    UnbindResp,
    decode,
)
from channels.smpp.session import (
    BindRefused,
    Bound,
    ConnectionLost,
    DeliverReceived,
    EsmeSession,
    LocalProtocolError,
    PeerError,
    Response,
    TimedOut,
    Unbound,
    bind_request,
)

BIND = bind_request("transceiver", "aircharge", "s3cret")


def header(command_id: int, status: int, sequence: int, body: bytes = b"") -> bytes:
    return struct.pack("!IIII", 16 + len(body), command_id, status, sequence) + body


def bound_session(now: int = 0, **kwargs: int) -> EsmeSession:
    session = EsmeSession(now_ms=now, **kwargs)
    frame = session.bind(BIND, now)
    assert decode(frame).pdu == BIND
    assert decode(frame).sequence == 1
    events = session.receive_data(
        BindResponse(kind="transceiver", system_id="SMSC").to_bytes(1), now
    )
    assert events == [Bound("SMSC")]
    assert session.state == "bound"
    return session


def test_bind_then_submit_correlates_by_sequence() -> None:
    session = bound_session()
    seq_a, frame_a = session.submit(SubmitSm(destination_addr="1"), 0, "a")
    seq_b, _ = session.submit(SubmitSm(destination_addr="2"), 0, "b")
    assert (seq_a, seq_b) == (2, 3)
    assert decode(frame_a).pdu == SubmitSm(destination_addr="1")
    data = SubmitSmResp("id-b").to_bytes(seq_b) + SubmitSmResp("id-a").to_bytes(seq_a)
    events = session.receive_data(data, 5)
    assert [(e.token, e.pdu) for e in events if isinstance(e, Response)] == [
        ("b", SubmitSmResp("id-b")), ("a", SubmitSmResp("id-a")),
    ]  # fmt: skip
    assert session.submits_in_flight == 0


def test_bind_refused_closes() -> None:
    session = EsmeSession(now_ms=0)
    session.bind(BIND, 0)
    events = session.receive_data(header(c.BIND_TRANSCEIVER_RESP, c.ESME_RINVPASWD, 1), 0)
    assert events == [BindRefused(c.ESME_RINVPASWD)]
    assert session.state == "closed"


def test_the_state_table_refuses_what_it_does_not_list() -> None:
    session = EsmeSession(now_ms=0)
    with pytest.raises(LocalProtocolError):
        session.submit(SubmitSm(), 0)
    with pytest.raises(LocalProtocolError):
        session.unbind(0)
    session.bind(BIND, 0)
    with pytest.raises(LocalProtocolError):
        session.bind(BIND, 0)


def test_vendor_status_is_a_response_like_any_other() -> None:
    session = bound_session()
    seq, _ = session.submit(SubmitSm(), 0, "t")
    events = session.receive_data(header(c.SUBMIT_SM_RESP, 0x401, seq), 0)
    assert events == [Response(seq, c.SUBMIT_SM, 0x401, SubmitSmResp(), "t")]
    assert session.state == "bound"


def test_window_is_bounded() -> None:
    session = bound_session(window=2)
    session.submit(SubmitSm(), 0)
    session.submit(SubmitSm(), 0)
    assert session.window_free == 0
    with pytest.raises(LocalProtocolError, match="window"):
        session.submit(SubmitSm(), 0)
    session.receive_data(SubmitSmResp("x").to_bytes(2), 0)
    assert session.window_free == 1


def test_sequence_wraps_to_one() -> None:
    session = EsmeSession(now_ms=0, first_sequence=c.sequence_max)
    assert decode(session.bind(BIND, 0)).sequence == c.sequence_max
    session.receive_data(BindResponse(kind="transceiver").to_bytes(c.sequence_max), 0)
    seq, _ = session.submit(SubmitSm(), 0)
    assert seq == 1


def test_response_deadline() -> None:
    session = bound_session(response_timeout_ms=100)
    seq, _ = session.submit(SubmitSm(), 10, "late")
    assert session.tick(109) == []
    assert session.tick(110) == [TimedOut(seq, c.SUBMIT_SM, "late")]
    assert session.submits_in_flight == 0
    # a response after the deadline is for no request: reported, not fatal
    events = session.receive_data(SubmitSmResp("x").to_bytes(seq), 120)
    assert isinstance(events[0], PeerError)
    assert session.state == "bound"


def test_enquire_link_after_silence_and_its_timeout() -> None:
    session = bound_session(enquire_link_ms=1000, response_timeout_ms=500)
    assert session.tick(999) == []
    assert session.data_to_send() == b""
    session.tick(1000)
    sent = decode(session.data_to_send())
    assert sent.pdu == EnquireLink()
    session.tick(1200)
    assert session.data_to_send() == b"", "one enquire_link at a time"
    assert session.tick(1500) == [ConnectionLost("enquire_link was not answered", True)]


def test_enquire_link_answered_keeps_quiet() -> None:
    session = bound_session(enquire_link_ms=1000)
    session.tick(1000)
    sequence = decode(session.data_to_send()).sequence
    assert session.receive_data(header(c.ENQUIRE_LINK_RESP, 0, sequence), 1001) == []
    assert session.tick(1500) == []
    assert session.data_to_send() == b""


def test_peer_enquire_link_and_unbind_are_answered() -> None:
    session = bound_session()
    assert session.receive_data(header(c.ENQUIRE_LINK, 0, 77), 0) == []
    assert session.data_to_send() == header(c.ENQUIRE_LINK_RESP, 0, 77)
    seq, _ = session.submit(SubmitSm(), 0, "lost")
    events = session.receive_data(header(c.UNBIND, 0, 78), 0)
    assert events == [TimedOut(seq, c.SUBMIT_SM, "lost"), Unbound(by_peer=True)]
    assert session.data_to_send() == UnbindResp().to_bytes(78)
    assert session.state == "closed"


def test_unknown_command_gets_generic_nack() -> None:
    session = bound_session()
    events = session.receive_data(header(0x00000042, 0, 9, b"xyz"), 0)
    assert [type(e) for e in events] == [PeerError]
    assert session.data_to_send() == header(c.GENERIC_NACK, c.ESME_RINVCMDID, 9)
    assert session.state == "bound"


def test_malformed_deliver_sm_answered_with_its_status() -> None:
    session = bound_session()
    body = b"\0" + bytes(2) + b"x" * 30  # source_addr without NUL inside 21 octets
    events = session.receive_data(header(c.DELIVER_SM, 0, 12, body), 0)
    assert [type(e) for e in events] == [PeerError]
    answer = session.data_to_send()
    assert struct.unpack("!IIII", answer[:16])[1:] == (c.DELIVER_SM_RESP, c.ESME_RINVSRCADR, 12)
    assert session.state == "bound"


def test_bad_command_length_is_fatal() -> None:
    session = bound_session()
    seq, _ = session.submit(SubmitSm(), 0, "t")
    events = session.receive_data(struct.pack("!IIII", 8, c.DELIVER_SM, 0, 5), 0)
    assert events[0] == TimedOut(seq, c.SUBMIT_SM, "t")
    assert isinstance(events[-1], ConnectionLost)
    assert session.data_to_send() == header(c.GENERIC_NACK, c.ESME_RINVCMDLEN, 5)
    assert session.state == "closed"


def test_deliver_sm_handed_out_and_answered_later() -> None:
    session = bound_session()
    mo = DeliverSm(source_addr="8613900000001", destination_addr="1888", short_message=b"BAL")
    data = mo.to_bytes(40)
    events = session.receive_data(data[:10], 3) + session.receive_data(data[10:], 4)
    assert events == [DeliverReceived(40, mo, 4)]
    assert session.data_to_send() == b"", "no automatic ack: the application answers"
    assert session.deliver_sm_resp(40) == header(c.DELIVER_SM_RESP, 0, 40, b"\0")


def test_our_unbind_answered() -> None:
    session = bound_session()
    frame = session.unbind(0)
    sequence = decode(frame).sequence
    assert session.state == "unbinding"
    events = session.receive_data(header(c.UNBIND_RESP, 0, sequence), 0)
    assert events == [Unbound(by_peer=False)]
    assert str(session.state) == "closed"


def test_close_times_out_everything_in_flight() -> None:
    session = bound_session()
    seq, _ = session.submit(SubmitSm(), 0, "t")
    assert session.close() == [TimedOut(seq, c.SUBMIT_SM, "t")]
    assert session.receive_data(header(c.ENQUIRE_LINK, 0, 1), 0) == []
