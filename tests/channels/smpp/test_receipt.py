from __future__ import annotations

from channels.smpp.pdu import DeliverSm, decode
from channels.smpp.receipt import DeliveryReceipt, parse_receipt, parse_receipt_text
from channels.smpp.tlv import MESSAGE_STATE, RECEIPTED_MESSAGE_ID, Tlv

TEXT = (
    "id:0123456789 sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 "
    "stat:DELIVRD err:000 text:Top up 50 yuan"
)


def test_the_customary_receipt_text() -> None:
    receipt = parse_receipt_text(TEXT)
    assert receipt == DeliveryReceipt(
        "0123456789", "DELIVRD", "000", "2601011200", "2601011201", "Top up 50 yuan"
    )
    assert receipt.delivered


def test_case_and_missing_fields() -> None:
    receipt = parse_receipt_text("ID:ab12 Stat:undeliv")
    assert (receipt.message_id, receipt.state, receipt.error) == ("ab12", "UNDELIV", "")


def test_tlvs_win_over_the_text() -> None:
    pdu = DeliverSm(
        esm_class=0x04,
        short_message=TEXT.encode(),
        tlvs=(Tlv.cstring(RECEIPTED_MESSAGE_ID, "ABC"), Tlv.u8(MESSAGE_STATE, 5)),
    )
    receipt = parse_receipt(decode(pdu.to_bytes(1)).pdu)  # type: ignore[arg-type]
    assert receipt is not None
    assert (receipt.message_id, receipt.state, receipt.done_date) == (
        "ABC",
        "UNDELIV",
        "2601011201",
    )
    assert parse_receipt(DeliverSm(short_message=TEXT.encode())) is None  # not esm_class 0x04


def test_the_emulator_formats_what_the_parser_reads() -> None:
    receipt = DeliveryReceipt("m1", "DELIVRD", "000", "2601011200", "2601011201", "hello")
    pdu = receipt.to_deliver_sm(source_addr="8613900000001", destination_addr="1888")
    assert pdu.is_receipt
    assert parse_receipt(pdu) == receipt
