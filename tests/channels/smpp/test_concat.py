from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.smpp.coding import CodingMap, decode_text
from channels.smpp.concat import (
    ConcatError,
    ConcatInfo,
    Reassembler,
    concat_info,
    parse_udh,
    split_text,
)
from channels.smpp.pdu import DeliverSm
from channels.smpp.tlv import SAR_MSG_REF_NUM, SAR_SEGMENT_SEQNUM, SAR_TOTAL_SEGMENTS, Tlv
from dialogs.gsm import DEFAULT_ALPHABET, EXTENSION
from dialogs.render.sms import sms_segments

gsm_chars = st.sampled_from(sorted(set(DEFAULT_ALPHABET + EXTENSION) - {"\x1b"}))
any_chars = st.one_of(gsm_chars, st.sampled_from("充值余额😀€"), st.characters())


def _codec(text: str) -> str:
    return CodingMap.sms().choose_mt_coding(text).codec


@given(st.text(any_chars, max_size=800))
def test_parts_agree_with_sms_segments(text: str) -> None:
    text = text.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "replace")
    codec = _codec(text)
    parts = split_text(text, codec, reference=9)
    assert len(parts) == sms_segments(text)
    joined = b"".join(part.user_data for part in parts)
    assert decode_text(codec, joined) == text
    for part in parts:  # every part decodes alone: no escape or surrogate pair is split
        decode_text(codec, part.user_data)
        assert len(part.short_message) <= 140


def test_a_long_gsm_text_gets_8bit_udh_parts() -> None:
    parts = split_text("a" * 161, "gsm7", reference=0x2A)
    assert [(p.seq, p.total, p.udh, len(p.user_data)) for p in parts] == [
        (1, 2, bytes.fromhex("0500032A0201"), 153),
        (2, 2, bytes.fromhex("0500032A0202"), 8),
    ]
    assert parts[0].esm_class == 0x40
    assert split_text("a" * 160, "gsm7", reference=1)[0].udh == b""


def test_udh_16bit_reference_is_big_endian() -> None:
    info, data = parse_udh(bytes.fromhex("060804ABCD0302") + b"hi")
    assert info == ConcatInfo(0xABCD, 3, 2, "udh16")
    assert data == b"hi"


def test_other_udh_elements_are_skipped() -> None:
    info, data = parse_udh(bytes.fromhex("0B 0504 0B84 23F0 000312 0201") + b"x")
    assert info == ConcatInfo(0x12, 2, 1, "udh8")
    assert data == b"x"


@pytest.mark.parametrize(
    "short_message",
    [bytes.fromhex("05000312 0200"), bytes.fromhex("05000312 0203"), bytes.fromhex("0500031200"),
     bytes.fromhex("050003120001"), b""],
)  # fmt: skip
def test_bad_udh_is_a_peer_fault(short_message: bytes) -> None:
    with pytest.raises(ConcatError):
        parse_udh(short_message)


def test_sar_parts_reassemble() -> None:
    reassembler = Reassembler()
    results = []
    for seq, text in ((2, b"world"), (1, b"hello ")):
        pdu = DeliverSm(
            source_addr="8613900000001",
            short_message=text,
            tlvs=(Tlv.u16(SAR_MSG_REF_NUM, 700), Tlv.u8(SAR_TOTAL_SEGMENTS, 2),
                  Tlv.u8(SAR_SEGMENT_SEQNUM, seq)),
        )  # fmt: skip
        info, data = concat_info(pdu)
        assert info is not None
        assert info.form == "sar"
        results.append(reassembler.add(pdu.source_addr, info, data, now_ms=0))
    assert results == [None, b"hello world"]


def test_parts_join_in_integer_order_and_ignore_duplicates() -> None:
    reassembler = Reassembler()
    total = 12
    for seq in [*range(total, 1, -1), 3]:
        assert reassembler.add("a", ConcatInfo(1, total, seq, "udh8"), b"%d," % seq, 0) is None
    joined = reassembler.add("a", ConcatInfo(1, total, 1, "udh8"), b"1,", 0)
    assert joined == b"".join(b"%d," % n for n in range(1, total + 1))
    assert len(reassembler) == 0


def test_the_reassembler_is_bounded_and_expires() -> None:
    reassembler = Reassembler(pending_max=2, ttl_ms=1000)
    for n in range(3):
        reassembler.add(f"s{n}", ConcatInfo(1, 2, 1, "udh8"), b"x", now_ms=n)
    assert (len(reassembler), reassembler.evicted) == (2, 1)
    # s0's first part was evicted (the oldest): its second part starts afresh, evicting s1.
    assert reassembler.add("s0", ConcatInfo(1, 2, 2, "udh8"), b"y", now_ms=3) is None
    assert reassembler.evicted == 2
    assert reassembler.expire(now_ms=1001) == 0
    assert reassembler.expire(now_ms=1002) == 1  # s2, first part at 2 ms
    assert reassembler.expire(now_ms=5000) == 1
    assert (len(reassembler), reassembler.expired) == (0, 2)


def test_a_ucs2_pair_split_across_parts_decodes_after_joining() -> None:
    data = "a😀".encode("utf-16-be")
    reassembler = Reassembler()
    assert reassembler.add("x", ConcatInfo(5, 2, 1, "udh8"), data[:4], 0) is None
    joined = reassembler.add("x", ConcatInfo(5, 2, 2, "udh8"), data[4:], 0)
    assert joined is not None
    assert decode_text("ucs2", joined) == "a😀"


def test_seq_zero_or_beyond_total_is_a_peer_fault() -> None:
    for total, seq in ((2, 0), (2, 3), (0, 0)):
        with pytest.raises(ConcatError):
            ConcatInfo(1, total, seq, "sar")
