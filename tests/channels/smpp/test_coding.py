from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.smpp.coding import (
    CodingMap,
    MtCoding,
    decode_text,
    encode_text,
    gsm_decode,
    gsm_encode,
    pack_septets,
    unpack_septets,
)
from channels.smpp.errors import CodingError, UndecodableText, UnencodableText, UnknownCoding
from dialogs.gsm import DEFAULT_ALPHABET, EXTENSION, septets

gsm_texts = st.text(st.sampled_from(sorted(set(DEFAULT_ALPHABET + EXTENSION) - {"\x1b"})))


def test_packed_septets_match_3gpp_23_038() -> None:
    assert pack_septets(gsm_encode("hellohello")) == bytes.fromhex("E8329BFD4697D9EC37")
    assert gsm_decode(unpack_septets(bytes.fromhex("E8329BFD4697D9EC37"))) == "hellohello"
    # 7 characters leave 7 spare bits: filled with CR so they do not read as '@' (6.1.2.3.1).
    assert pack_septets(gsm_encode("1234567")) == bytes.fromhex("31D98C56B3DD1A")
    assert unpack_septets(bytes.fromhex("31D98C56B3DD1A")) == b"1234567"


def test_extension_characters_travel_as_escape_pairs() -> None:
    assert gsm_encode("€[") == b"\x1b\x65\x1b\x3c"
    assert gsm_decode(b"\x1b\x65a\x1b\x01") == "€aΔ"[0:2] + "£"  # unknown code: default char


@given(gsm_texts)
def test_gsm7_round_trips_unpacked_and_packed(text: str) -> None:
    assert gsm_decode(gsm_encode(text)) == text
    assert len(gsm_encode(text)) == septets(text)
    if not text.endswith("\r"):  # 23.038 6.1.2.3.1: a final CR is the fill, without a count
        assert decode_text("gsm7-packed", encode_text("gsm7-packed", text)) == text
    assert unpack_septets(pack_septets(gsm_encode(text)), len(gsm_encode(text))) == gsm_encode(text)


@given(st.text())
def test_ucs2_round_trips_outside_the_bmp(text: str) -> None:
    text = text.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "replace")
    assert decode_text("ucs2", encode_text("ucs2", text)) == text


def test_ucs2_with_a_language_indication() -> None:
    data = encode_text("ucs2-lang", "你好", language="zh")
    assert data[:2] == pack_septets(b"zh")
    assert data[2:] == "你好".encode("utf-16-be")
    assert CodingMap.ussd().decode(0x11, data) == "你好"


def test_the_default_maps() -> None:
    sms, ussd = CodingMap.sms(), CodingMap.ussd()
    assert sms.decode(0, b"\x48\x49") == "HI"
    assert sms.decode(3, "é".encode("latin-1")) == "é"
    assert ussd.decode(0x0F, b"*123#") == "*123#"
    assert ussd.decode(0x48, "中".encode("utf-16-be")) == "中"
    assert sms.choose_mt_coding("Hello {}") == MtCoding(0, "gsm7", 1)
    assert sms.choose_mt_coding("充值 50") == MtCoding(8, "ucs2", 2)
    assert ussd.choose_mt_coding("1. Top up") == MtCoding(0x0F, "gsm7", 1)


def test_message_class_codings() -> None:
    sms = CodingMap.sms()
    assert sms.decode(0xF1, b"hi") == "hi"  # bit 2 clear: GSM 7-bit
    with pytest.raises(UnknownCoding):
        sms.decode(0xF5, b"\x80\x81")  # bit 2 set: 8-bit data, not text


def test_a_link_maps_0x0f_to_gbk_from_config() -> None:
    link = CodingMap.from_config({"0x0F": "gbk"})
    assert link.decode(0x0F, "充值".encode("gbk")) == "充值"
    with pytest.raises(ValueError, match="no codec"):
        CodingMap.from_config({"0x0F": "big5"})
    with pytest.raises(ValueError, match="not a number"):
        CodingMap.from_config({"fifteen": "gbk"})
    with pytest.raises(ValueError, match=r"0\.\.255"):
        CodingMap.from_config({"0x100": "gbk"})


@given(st.integers(0, 255), st.binary(max_size=50))
def test_decoding_raises_only_coding_errors(data_coding: int, data: bytes) -> None:
    for link in (CodingMap.sms(), CodingMap.ussd(), CodingMap.from_config({"0x0F": "gbk"})):
        with contextlib.suppress(CodingError):
            link.decode(data_coding, data)


def test_undecodable_and_unencodable() -> None:
    with pytest.raises(UndecodableText):
        decode_text("ucs2", b"\xd8\x00")  # half a surrogate pair
    with pytest.raises(UndecodableText):
        decode_text("gsm7", b"\x80")
    with pytest.raises(UnencodableText):
        encode_text("gsm7", "中")
