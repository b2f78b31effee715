"""PDUs against byte fixtures written out by hand from SMPP 3.4, round trips, the framer."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.smpp import constants as c
from channels.smpp.errors import PduError, PduValueError
from channels.smpp.pdu import (
    BindRequest,
    BindResponse,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    Framer,
    GenericNack,
    ShortMessagePdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnknownPdu,
    decode,
    encode,
    pdu_length_max,
)
from channels.smpp.tlv import (
    ITS_SESSION_INFO,
    USER_MESSAGE_REFERENCE,
    USSD_PSSR_INDICATION,
    ItsSessionInfo,
    Tlv,
)


def h(text: str) -> bytes:
    """Hex with spaces and comments after '#' on each line."""
    return bytes.fromhex("".join(line.split("#")[0] for line in text.splitlines()))


BIND_TRANSCEIVER = h("""
    00000026 00000009 00000000 00000001   # length 38, bind_transceiver, ROK, seq 1
    61697263686172676500                   # system_id "aircharge"
    73656372657400                         # password "secret"
    00                                     # system_type ""
    34 00 00                               # interface_version 3.4, addr_ton, addr_npi
    00                                     # address_range ""
""")

SUBMIT_SM = h("""
    0000003D 00000004 00000000 00000002   # length 61, submit_sm, seq 2
    00                                     # service_type ""
    05 00 3138383800                       # source alphanumeric/unknown "1888"
    01 01 3836313339303030303030303100     # destination international/ISDN "8613900000001"
    00 00 00                               # esm_class, protocol_id, priority_flag
    00 00                                  # schedule_delivery_time, validity_period
    00 00 00 00                            # registered_delivery, replace, data_coding, default id
    05 68656C6C6F                          # sm_length 5, "hello"
    0204 0002 0007                         # user_message_reference = 7
""")

USSD_DELIVER_SM = h("""
    00000047 00000005 00000000 00000003   # length 71, deliver_sm, seq 3
    5553534400                             # service_type "USSD"
    01 01 3836313339303030303030303100     # source "8613900000001"
    00 00 2A3132332300                     # destination "*123#"
    00 00 00 00 00                         # esm_class .. validity_period
    00 00 0F 00                            # registered_delivery, replace, data_coding 0x0F, id
    05 2A31323323                          # "*123#"
    0501 0001 01                           # ussd_service_op = 1 (PSSR indication)
    1383 0002 2A 02                        # its_session_info: session 42, sequence 1, not end
""")


def test_bind_transceiver_fixture() -> None:
    bind = BindRequest(kind="transceiver", system_id="aircharge", password="secret")
    assert bind.to_bytes(1) == BIND_TRANSCEIVER
    frame = decode(BIND_TRANSCEIVER)
    assert (frame.command_id, frame.status, frame.sequence, frame.pdu) == (
        c.BIND_TRANSCEIVER, 0, 1, bind
    )  # fmt: skip


def test_submit_sm_with_a_tlv_fixture() -> None:
    submit = SubmitSm(
        source_addr_ton=5, source_addr="1888", dest_addr_ton=1, dest_addr_npi=1,
        destination_addr="8613900000001", short_message=b"hello",
        tlvs=(Tlv.u16(USER_MESSAGE_REFERENCE, 7),),
    )  # fmt: skip
    assert encode(submit, 2) == SUBMIT_SM
    frame = decode(SUBMIT_SM)
    assert frame.pdu == submit
    assert isinstance(frame.pdu, SubmitSm)
    assert frame.pdu.user_message_reference == 7
    assert frame.pdu.registered_delivery == 0


def test_ussd_pssr_indication_fixture() -> None:
    frame = decode(USSD_DELIVER_SM)
    pdu = frame.pdu
    assert isinstance(pdu, DeliverSm)
    assert pdu.service_type == "USSD"
    assert pdu.data_coding == 0x0F
    assert pdu.ussd_service_op == USSD_PSSR_INDICATION
    assert pdu.its_session_info == ItsSessionInfo(session=42, sequence=1, end=False)
    assert pdu.payload == b"*123#"
    assert pdu.to_bytes(3) == USSD_DELIVER_SM


def test_its_session_info_end_bit() -> None:
    info = ItsSessionInfo(session=0xFF, sequence=127, end=True)
    assert info.encode() == b"\xff\xff"
    assert ItsSessionInfo.decode(b"\xff\xff") == info
    assert info.to_tlv() == Tlv(ITS_SESSION_INFO, b"\xff\xff")
    with pytest.raises(PduValueError):
        ItsSessionInfo(session=1, sequence=128, end=False)


def test_enquire_link_and_generic_nack_fixtures() -> None:
    assert EnquireLink().to_bytes(7) == h("00000010 00000015 00000000 00000007")
    assert decode(h("00000010 80000015 00000000 00000007")).pdu == EnquireLinkResp()
    nack = h("00000010 80000000 00000003 00000007")
    assert GenericNack().to_bytes(7, c.ESME_RINVCMDID) == nack
    frame = decode(nack)
    assert (frame.pdu, frame.status, frame.sequence) == (GenericNack(), c.ESME_RINVCMDID, 7)


def test_a_vendor_status_decodes_with_or_without_a_body() -> None:
    frame = decode(h("00000010 80000004 00000401 00000005"))
    assert (frame.pdu, frame.status) == (SubmitSmResp(""), 0x401)
    assert c.status_name(frame.status) == "0x00000401 (vendor)"
    assert c.status_name(c.ESME_RTHROTTLED) == "ESME_RTHROTTLED (0x00000058)"
    with_body = decode(h("00000011 80000004 00000401 00000005 00"))
    assert with_body.pdu == SubmitSmResp("")


def test_an_unknown_command_id_is_an_unknown_pdu() -> None:
    frame = decode(h("00000012 00000042 00000000 00000009 6162"))
    assert frame.pdu == UnknownPdu(0x42, 0, 9, b"ab")
    assert c.command_name(0x42) == "0x00000042 (unknown)"
    assert c.command_name(c.SUBMIT_SM_RESP) == "submit_sm_resp"


def test_responses_round_trip() -> None:
    for pdu in (
        SubmitSmResp("abc123"), DeliverSmResp(""), Unbind(),
        BindResponse(kind="receiver", system_id="smsc", sc_interface_version=0x34),
        BindResponse(kind="transmitter"),
    ):  # fmt: skip
        assert decode(pdu.to_bytes(11)).pdu == pdu
    assert decode(h("00000010 80000001 0000000D 00000001")).pdu == BindResponse(kind="receiver")


# --- malformed input: a PduError with the status to answer, never another exception


@pytest.mark.parametrize(
    ("frame", "status"),
    [
        (h("0000000F 00000015 00000000 00000001"), c.ESME_RINVCMDLEN),  # length disagrees
        (h("00000014 00000009 00000000 00000004 61626364"), c.ESME_RINVCMDLEN),  # no NUL
        (
            h("00000026 00000009 00000000 00000004")
            + b"x" * 20 + b"\0" + b"\0",
            c.ESME_RINVSYSID,
        ),  # system_id over 15 octets
        (SUBMIT_SM[:-3] + b"\x00", c.ESME_RINVCMDLEN),  # truncated TLV: frame length now off
        (h("00000022 00000004 00000000 00000004 00 0000 00 0000 00 000000 00 00 00000000 07 61"),
         c.ESME_RINVMSGLEN),  # sm_length beyond the body
    ],
)  # fmt: skip
def test_malformed_frames_say_what_to_answer(frame: bytes, status: int) -> None:
    with pytest.raises(PduError) as caught:
        decode(frame)
    assert caught.value.command_status == status


def test_a_truncated_tlv_is_rinvparlen_with_the_sequence() -> None:
    body = SUBMIT_SM[16:-1]  # the last TLV claims 2 octets, 1 remains
    frame = (len(body) + 16).to_bytes(4, "big") + SUBMIT_SM[4:16] + body
    with pytest.raises(PduError) as caught:
        decode(frame)
    assert (caught.value.command_status, caught.value.sequence) == (c.ESME_RINVPARLEN, 2)
    stub = SUBMIT_SM + b"\x02"
    stub = len(stub).to_bytes(4, "big") + stub[4:]
    with pytest.raises(PduError) as caught:
        decode(stub)
    assert caught.value.command_status == c.ESME_RINVOPTPARSTREAM


@given(st.binary(max_size=300))
def test_decode_of_random_bytes_raises_only_pdu_error(data: bytes) -> None:
    for frame in (data, len(data).to_bytes(4, "big") + data[4:] if len(data) >= 16 else data):
        with contextlib.suppress(PduError):
            decode(frame)


@given(st.sampled_from([c.SUBMIT_SM, c.DELIVER_SM, c.BIND_TRANSCEIVER, c.SUBMIT_SM_RESP]),
       st.binary(max_size=200))  # fmt: skip
def test_decode_of_random_bodies_raises_only_pdu_error(command_id: int, body: bytes) -> None:
    frame = (16 + len(body)).to_bytes(4, "big") + command_id.to_bytes(4, "big") + bytes(8) + body
    with contextlib.suppress(PduError):
        decode(frame)


# --- round trips

addresses = st.text(st.characters(min_codepoint=1, max_codepoint=0xFF), max_size=20)
octets = st.integers(0, 255)
tlvs = st.lists(st.builds(Tlv, st.integers(0, 0xFFFF), st.binary(max_size=40)), max_size=5).map(
    tuple
)


@st.composite
def short_messages(draw: st.DrawFn) -> ShortMessagePdu:
    cls = draw(st.sampled_from([SubmitSm, DeliverSm]))
    return cls(
        service_type=draw(st.text(st.characters(min_codepoint=1, max_codepoint=0xFF), max_size=5)),
        source_addr_ton=draw(octets), source_addr_npi=draw(octets), source_addr=draw(addresses),
        dest_addr_ton=draw(octets), dest_addr_npi=draw(octets), destination_addr=draw(addresses),
        esm_class=draw(octets), protocol_id=draw(octets), priority_flag=draw(octets),
        schedule_delivery_time=draw(st.sampled_from(["", "260101120000000+"])),
        validity_period=draw(st.sampled_from(["", "000001000000000R"])),
        registered_delivery=draw(octets), replace_if_present_flag=draw(octets),
        data_coding=draw(octets), sm_default_msg_id=draw(octets),
        short_message=draw(st.binary(max_size=254)), tlvs=draw(tlvs),
    )  # fmt: skip


@given(short_messages(), st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF))
def test_short_messages_round_trip(pdu: ShortMessagePdu, sequence: int, status: int) -> None:
    frame = decode(pdu.to_bytes(sequence, status))
    assert (frame.pdu, frame.sequence, frame.status) == (pdu, sequence, status)


def test_constructors_refuse_what_smpp_cannot_carry() -> None:
    with pytest.raises(PduValueError):
        SubmitSm(destination_addr="1" * 21)
    with pytest.raises(PduValueError):
        SubmitSm(short_message=b"x" * 255)
    with pytest.raises(PduValueError):
        SubmitSm(esm_class=256)
    with pytest.raises(PduValueError):
        BindRequest(kind="transceiver", system_id="s", password="123456789")
    with pytest.raises(PduValueError):
        Tlv(0x10000, b"")


# --- the framer


@given(st.lists(short_messages(), min_size=1, max_size=5), st.data())
def test_the_framer_gives_the_same_frames_in_any_chunking(pdus, data) -> None:
    stream = b"".join(pdu.to_bytes(n) for n, pdu in enumerate(pdus, start=1))
    expected = [pdu.to_bytes(n) for n, pdu in enumerate(pdus, start=1)]
    for chunks in (
        [stream[i : i + 1] for i in range(len(stream))],
        _random_chunks(stream, data.draw(st.lists(st.integers(1, 64), max_size=50))),
    ):
        framer, frames = Framer(), []
        for chunk in chunks:
            framer.feed(chunk)
            while (frame := framer.next_frame()) is not None:
                frames.append(frame)
        assert frames == expected
        assert framer.buffered == 0


def _random_chunks(stream: bytes, sizes: list[int]) -> list[bytes]:
    chunks, pos = [], 0
    for size in sizes:
        chunks.append(stream[pos : pos + size])
        pos += size
    chunks.append(stream[pos:])
    return chunks


@pytest.mark.parametrize("length", [0, 15, pdu_length_max + 1, 0xFFFFFFFF])
def test_the_framer_refuses_a_bad_command_length(length: int) -> None:
    framer = Framer()
    framer.feed(length.to_bytes(4, "big") + h("00000004 00000000 0000002A"))
    with pytest.raises(PduError) as caught:
        framer.next_frame()
    assert caught.value.fatal
    assert (caught.value.command_status, caught.value.sequence) == (c.ESME_RINVCMDLEN, 42)


def test_the_framer_waits_for_a_whole_frame() -> None:
    framer = Framer()
    framer.feed(SUBMIT_SM[:20])
    assert framer.next_frame() is None
    framer.feed(SUBMIT_SM[20:] + EnquireLink().to_bytes(1))
    assert framer.next_frame() == SUBMIT_SM
    assert framer.next_frame() == EnquireLink().to_bytes(1)
    assert framer.next_frame() is None
