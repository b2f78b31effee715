"""SIM alpha coding, text strings and SMS-SUBMIT TPDUs against bytes worked out by hand from
TS 102 221 annex A, TS 102 223 §8.15, TS 23.038 §6.1.2.1.1 and TS 23.040 §9.2.2.2."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.stk.text import (
    decode_alpha,
    decode_text_string,
    encode_alpha,
    encode_text_string,
)
from channels.stk.tlv import MalformedTlv, StkError
from channels.stk.tpdu import SmsSubmit, decode_sms_submit, encode_sms_submit
from dialogs.gsm import DEFAULT_ALPHABET, EXTENSION
from dialogs.render.stk_size import alpha_bytes, text_string_bytes

ALPHA_FIXTURES = [
    # GSM default alphabet, unpacked: one byte a character, bit 8 zero.
    ("Menu", "4D656E75"),
    # '€' is in the extension table: ESC 1B then 65 (TS 23.038 §6.2.1.1); '@' is 00.
    ("@€", "001B65"),
    # 0x80 form: 80, then UCS-2 big-endian. 确 U+786E, 认 U+8BA4 are 0x1336 apart: no window.
    ("确认", "80786E8BA4"),
    # 0x81 form: 81 | 04 characters | base byte 08 (base pointer 08 << 7 = 0x0400) |
    # М U+041C -> 80|1C = 9C, е U+0435 -> B5, н U+043D -> BD, ю U+044E -> CE.
    # 7 bytes, against 9 for 0x80 and 8 for 0x82.
    ("Меню", "8104089CB5BDCE"),
    # 0x81 with a GSM character kept as itself: 'A' 41, α U+03B1 (base 0x0380, byte 07) -> B1 …
    ("Aαβγ", "810407" + "41B1B2B3"),
    # 0x82 form: 82 | 05 characters | base pointer AC00 | 가 U+AC00 -> 80, 각 U+AC01 -> 81,
    # 간 U+AC04 -> 84, ' ' 20 and '1' 31 in the GSM alphabet. (Over 0x7FFF: 0x81 cannot.)
    ("가각간 1", "8205AC00" + "80818420" + "31"),
]


@pytest.mark.parametrize(("text", "coded"), ALPHA_FIXTURES)
def test_alpha_fixtures(text: str, coded: str) -> None:
    assert encode_alpha(text).hex().upper() == coded
    assert decode_alpha(bytes.fromhex(coded)) == text
    assert alpha_bytes(text) == len(bytes.fromhex(coded))


def test_alpha_padding_is_ignored() -> None:
    # unused bytes of a record are FF (TS 102 221 annex A)
    assert decode_alpha(bytes.fromhex("4D656E75FFFF")) == "Menu"
    assert decode_alpha(bytes.fromhex("80786E8BA4FF")) == "确认"
    assert decode_alpha(bytes.fromhex("8104089CB5BDCEFFFF")) == "Меню"


@pytest.mark.parametrize(
    ("coded", "reason"),
    [
        ("80786E8B", "odd"),  # 0x80 with 3 bytes of UCS-2
        ("8105089CB5BDCE", "5 characters announced, 4 present"),
        ("8104089CB5BDCE41", "bytes after"),
        ("81", "needs a count"),
        ("8204AC", "two-byte base"),
        ("83414243", "neither GSM nor"),
        ("4D9E", "neither GSM nor"),
    ],
)
def test_malformed_alpha(coded: str, reason: str) -> None:
    with pytest.raises(MalformedTlv, match=reason):
        decode_alpha(bytes.fromhex(coded))


_GSM = st.sampled_from([c for c in DEFAULT_ALPHABET if c != "\x1b"] + list(EXTENSION))
_BMP = st.characters(
    min_codepoint=0x20,
    max_codepoint=0xFFFE,
    categories=("L", "M", "N", "P", "S", "Zs"),
    exclude_characters="\x1b",
)


@given(st.text(st.one_of(_GSM, _BMP), max_size=120))
def test_alpha_round_trip_and_size(text: str) -> None:
    coded = encode_alpha(text)
    assert decode_alpha(coded) == text
    assert len(coded) == alpha_bytes(text)  # the linter's count is the codec's


@given(st.lists(st.characters(min_codepoint=0x4E00, max_codepoint=0x4E7F), max_size=40))
def test_a_window_of_cjk_takes_the_0x81_form(chars: list[str]) -> None:
    text = "".join(chars)
    coded = encode_alpha(text)
    if len(text) >= 3:  # 3 + n beats 1 + 2n from three characters on
        assert coded[0] == 0x81
    assert decode_alpha(coded) == text


TEXT_STRING_FIXTURES = [
    # DCS 04: the GSM default alphabet, 8-bit (unpacked) — TS 102 223 §8.15
    ("Done", None, "04446F6E65"),
    # DCS 08: UCS-2; 金 U+91D1 额 U+989D
    ("金额", None, "0891D1989D"),
    # DCS 00: packed; "Hi" = 48 69 -> 48 | (69 & 1) << 7 = C8, 69 >> 1 = 34
    ("Hi", 0x00, "00C834"),
]


@pytest.mark.parametrize(("text", "dcs", "coded"), TEXT_STRING_FIXTURES)
def test_text_string_fixtures(text: str, dcs: int | None, coded: str) -> None:
    assert encode_text_string(text, dcs).hex().upper() == coded
    assert decode_text_string(bytes.fromhex(coded))[0] == text


def test_null_text_string_and_bad_dcs() -> None:
    assert decode_text_string(b"") == ("", None)
    with pytest.raises(MalformedTlv, match="DCS 0xF4"):
        decode_text_string(bytes.fromhex("F44142"))
    with pytest.raises(MalformedTlv, match="odd"):
        decode_text_string(bytes.fromhex("0891D198"))
    with pytest.raises(StkError, match="GSM default alphabet"):
        encode_text_string("金", 0x04)


@given(st.text(st.one_of(_GSM, _BMP), max_size=120))
def test_text_string_round_trip_and_size(text: str) -> None:
    coded = encode_text_string(text)
    assert decode_text_string(coded)[0] == text
    assert len(coded) == text_string_bytes(text)


TPDU_FIXTURES = [
    # 01 SMS-SUBMIT, no validity period | 00 TP-MR | 04 digits, 81 unknown/ISDN, 18 88 -> 81 88
    # | 00 TP-PID | 00 GSM 7-bit | 0A septets | "BAL 123456" packed:
    # 42|(41&1)<<7=C2, 41>>1|(4C&3)<<6=20, 4C>>2|(20&7)<<5=13, 20>>3|(31&F)<<4=14,
    # 31>>4|(32&1F)<<3=93, 32>>5|(33&3F)<<2=CD, 33>>6|34<<1=68, 35|(36&1)<<7=35, 36>>1=1B
    (SmsSubmit("1888", "BAL 123456"), "0100048181880000" + "0A" + "C2201314" + "93CD68351B"),
    # seven septets fill their last octet's top bit with zero (an SMS, not USSD's CR):
    # 41, 42>>1|(43&3)<<6=E1, 43>>2|(44&7)<<5=90, 44>>3|(45&F)<<4=58, 45>>4|(46&1F)<<3=34,
    # 46>>5|(47&3F)<<2=1E, 47>>6=01
    (SmsSubmit("1888", "ABCDEFG"), "0100048181880000" + "07" + "41E19058341E01"),
    # international +8613800000001: 0D digits, 91, 86 13 80 00 00 00 1F -> 68 31 08 00 00 00 F1
    # | 00 | 08 UCS-2 | 04 octets | 余 4F59 额 989D
    (
        SmsSubmit("+8613800000001", "余额"),
        "01000D91" + "68310800" + "0000F1" + "000804" + "4F59989D",
    ),
]


@pytest.mark.parametrize(("sms", "coded"), TPDU_FIXTURES)
def test_tpdu_fixtures(sms: SmsSubmit, coded: str) -> None:
    assert encode_sms_submit(sms).hex().upper() == coded
    assert decode_sms_submit(bytes.fromhex(coded)) == sms


def test_tpdu_with_a_validity_period_decodes() -> None:
    # TP-VPF 10 (relative): first octet 11, one TP-VP octet (A7) after TP-DCS
    coded = "1100048181880000A7" + "0A" + "C220131493CD68351B"
    assert decode_sms_submit(bytes.fromhex(coded)) == SmsSubmit("1888", "BAL 123456")


@pytest.mark.parametrize(
    ("coded", "reason"),
    [
        ("0000048181880000", "not SMS-SUBMIT"),  # TP-MTI 0 is SMS-DELIVER
        ("4100048181880000", "TP-UDHI"),
        ("010004818188", "before TP-UDL"),
        ("0100048181880000" + "0A" + "C2201314", "need 9 octets"),
        ("0100048181880004" + "01" + "41", "TP-DCS 0x04"),
        ("01000481" + "81A8" + "0000", "semi-octet 0xA"),  # digit A in "188A"
    ],
)
def test_malformed_tpdu(coded: str, reason: str) -> None:
    with pytest.raises(MalformedTlv, match=reason):
        decode_sms_submit(bytes.fromhex(coded))


def test_one_sms_at_most() -> None:
    encode_sms_submit(SmsSubmit("1888", "x" * 160))
    with pytest.raises(StkError, match="160 septets"):
        encode_sms_submit(SmsSubmit("1888", "x" * 161))
    with pytest.raises(StkError, match="140 UCS-2 octets"):
        encode_sms_submit(SmsSubmit("1888", "金" * 71))
    with pytest.raises(StkError, match="digits"):
        SmsSubmit("18a8", "x")


@given(
    st.from_regex(r"\+?[0-9]{1,20}", fullmatch=True),
    st.one_of(st.text(_GSM, max_size=80), st.text(_BMP, max_size=70)),
)
def test_tpdu_round_trip(destination: str, text: str) -> None:
    sms = SmsSubmit(destination, text)
    try:
        coded = encode_sms_submit(sms)
    except StkError:
        return  # over one SMS: refused, covered above
    assert decode_sms_submit(coded) == sms
