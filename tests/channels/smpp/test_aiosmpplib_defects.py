"""One test per aiosmpplib 0.7.4 defect (PROTOCOLS-AND-LIBRARIES.md, "SMPP 3.4"): ours copes."""

from __future__ import annotations

from channels.smpp import constants as c
from channels.smpp.coding import CodingMap
from channels.smpp.concat import ConcatInfo, Reassembler, concat_info, split_text
from channels.smpp.pdu import DeliverSm, SubmitSm, SubmitSmResp, decode
from channels.smpp.tlv import (
    SAR_MSG_REF_NUM,
    SAR_SEGMENT_SEQNUM,
    SAR_TOTAL_SEGMENTS,
    USSD_SERVICE_OP,
    Tlv,
)


def test_closed_enum_vendor_status_decodes() -> None:
    frame = decode(bytes.fromhex("00000010 80000004 00000401 00000005"))
    assert frame.status == 0x401
    assert frame.pdu == SubmitSmResp("")


def test_closed_enum_data_codings_0x0f_0x11_0xf5_decode() -> None:
    ussd = CodingMap.ussd()
    for data_coding, text in ((0x0F, b"*123#"), (0x11, b"\x7a\x34\x4f\x60"), (0xF5, b"\x80\xff")):
        pdu = DeliverSm(source_addr="8613900000001", data_coding=data_coding, short_message=text)
        frame = decode(pdu.to_bytes(1))
        assert frame.pdu == pdu  # the PDU layer never judges data_coding
    assert ussd.decode(0x0F, b"*123#") == "*123#"
    assert ussd.decode(0x11, b"\x7a\x34\x4f\x60") == "你"


def test_tlv_values_as_text_binary_byte_and_ussd_op_0x81() -> None:
    tlvs = (Tlv.u8(USSD_SERVICE_OP, 0x81), Tlv(0x1400, bytes(range(0x80, 0x100))))
    frame = decode(SubmitSm(tlvs=tlvs).to_bytes(1))
    assert isinstance(frame.pdu, SubmitSm)
    assert frame.pdu.ussd_service_op == 0x81
    assert frame.pdu.tlvs == tlvs


def test_udh_16bit_reference_width() -> None:
    pdu = DeliverSm(esm_class=0x40, short_message=bytes.fromhex("06080412340201") + b"a")
    info, data = concat_info(pdu)
    assert info == ConcatInfo(0x1234, 2, 1, "udh16")
    assert data == b"a"


def test_parts_keyed_by_sender_not_reference_alone() -> None:
    reassembler = Reassembler()
    for sender, text in (("8613900000001", b"A"), ("8613900000002", b"B")):
        pdu = DeliverSm(
            source_addr=sender, esm_class=0x40, short_message=bytes.fromhex("060804BEEF0201") + text
        )
        info, data = concat_info(pdu)
        assert info is not None
        assert reassembler.add(pdu.source_addr, info, data, now_ms=0) is None
    info, data = concat_info(
        DeliverSm(esm_class=0x40, short_message=bytes.fromhex("060804BEEF0202") + b"2")
    )
    assert info is not None
    assert reassembler.add("8613900000002", info, data, now_ms=1) == b"B2"
    assert reassembler.add("8613900000001", info, data, now_ms=1) == b"A2"


def test_parts_joined_in_integer_not_string_order() -> None:
    reassembler = Reassembler()
    for seq in (10, 2, 1):
        reassembler.add("s", ConcatInfo(7, 10, seq, "udh8"), bytes((seq,)), now_ms=0)
    for seq in range(3, 10):
        joined = reassembler.add("s", ConcatInfo(7, 10, seq, "udh8"), bytes((seq,)), now_ms=0)
    assert joined == bytes(range(1, 11))


def test_sar_parts_do_not_crash() -> None:
    pdu = DeliverSm(
        short_message=b"part",
        tlvs=(Tlv.u16(SAR_MSG_REF_NUM, 1), Tlv.u8(SAR_TOTAL_SEGMENTS, 3),
              Tlv.u8(SAR_SEGMENT_SEQNUM, 2)),
    )  # fmt: skip
    info, _ = concat_info(decode(pdu.to_bytes(1)).pdu)  # type: ignore[arg-type]
    assert info == ConcatInfo(1, 3, 2, "sar")
    assert len(split_text("x" * 400, "gsm7", reference=1)) == 3  # we split with UDH


def test_registered_delivery_defaults_to_no_receipt() -> None:
    assert SubmitSm().registered_delivery == 0
    assert SubmitSm().to_bytes(1)[16 + 1 + 2 + 1 + 2 + 1 + 3 + 1 + 1] == 0


def test_no_correlator_in_the_codec() -> None:
    """The O(n) correlator and the missing window belong to the ESME; the codec keeps no state
    per message, so decoding is independent of how many are in flight."""
    frames = [SubmitSmResp(f"id{n}").to_bytes(n) for n in range(1, 1001)]
    assert [decode(f).sequence for f in frames] == list(range(1, 1001))
    assert c.status_name(c.ESME_RTHROTTLED).startswith("ESME_RTHROTTLED")
