"""Texts inside SIM Toolkit data objects: alpha identifiers and items, and text strings.

Alpha identifiers (0x05) and items (0x0F) hold the SIM alpha coding of an EF-ADN alpha
identifier (TS 102 223 §8.2 and §8.9, pointing at TS 102 221 annex A):

- every character in the GSM default alphabet: the SMS default alphabet *unpacked*, one
  character a byte with bit 8 zero, extension-table characters as ESC 0x1B + code (TS 23.038
  §6.2.1.1); this is `channels.smpp.coding.gsm_encode`, the "gsm7" unpacked codec;
- otherwise UCS-2 in one of three forms, the shortest chosen (0x80 on a tie, then 0x81):
  - 0x80, then the UCS-2 characters big-endian (2 bytes each);
  - 0x81, the number of characters, one byte giving bits 15..8 of a base pointer whose bit 16
    and bits 7..1 are zero (base = byte << 7), then one byte a character: bit 8 zero is a GSM
    default-alphabet character, bit 8 one adds bits 7..1 to the base pointer;
  - 0x82, the number of characters, a two-byte base pointer, then bytes as for 0x81.
  The 0x81 and 0x82 forms need every non-GSM character in one 128-character window of the
  Basic Multilingual Plane. Trailing 0xFF bytes (unused bytes of a record) are ignored when
  decoding.

Text strings (0x0D, and default text 0x17) hold a data coding scheme byte, then the text
(TS 102 223 §8.15, DCS as for SMS, TS 23.038 §4): 0x00 the GSM default alphabet packed 7-bit,
0x04 the GSM default alphabet unpacked, one character a byte (§8.15 names this "8 bit data" of
the SMS default alphabet; it is what phones and SIMs use for GSM text here, since it needs no
septet count), 0x08 UCS-2. We encode 0x04 or 0x08, and decode all three. A text string of
length zero is the null text string (§8.15) and reads as "".
"""

from __future__ import annotations

from typing import Final

from channels.smpp.coding import gsm_decode, gsm_encode, pack_septets, unpack_septets
from channels.smpp.errors import CodingError, UnencodableText
from channels.stk.tlv import MalformedTlv, StkError

UCS2_80: Final = 0x80
UCS2_81: Final = 0x81
UCS2_82: Final = 0x82
PADDING: Final = 0xFF
ESCAPE: Final = 0x1B
window: Final = 0x80  # characters a 0x81/0x82 base pointer reaches
base_81_max: Final = 0x7F80  # bit 16 of the pointer is zero

DCS_GSM_PACKED: Final = 0x00
DCS_GSM_8BIT: Final = 0x04
DCS_UCS2: Final = 0x08
TEXT_DCS: Final = frozenset({DCS_GSM_PACKED, DCS_GSM_8BIT, DCS_UCS2})


class UnencodableAlpha(StkError):
    """The caller's fault: a text no SIM coding carries (e.g. a lone surrogate)."""


def gsm_single(char: str) -> int | None:
    """The one-byte GSM default-alphabet code of `char`, or None (not in the table, or an
    extension character that takes ESC + code)."""
    try:
        code = gsm_encode(char)
    except UnencodableText:
        return None
    return code[0] if len(code) == 1 else None


def gsm_or_none(text: str) -> bytes | None:
    try:
        return gsm_encode(text)
    except UnencodableText:
        return None


def _ucs2(text: str) -> bytes:
    try:
        return text.encode("utf-16-be")
    except UnicodeEncodeError:
        raise UnencodableAlpha(f"{text!r} cannot be coded as UCS-2") from None


def _windowed(text: str, form: int) -> bytes | None:
    """`text` in the 0x81 or 0x82 form, or None when its characters do not fit one window."""
    if len(text) > 0xFF:
        return None
    codes = [gsm_single(char) for char in text]
    wide = [ord(char) for char, code in zip(text, codes, strict=True) if code is None]
    if not wide or max(wide) > 0xFFFF or any(0xD800 <= o <= 0xDFFF for o in wide):
        return None
    low, high = min(wide), max(wide)
    if form == UCS2_81:
        base = low & 0x7F80
        if low > 0x7FFF or high - base >= window:
            return None
        head = bytes((UCS2_81, len(text), base >> 7))
    else:
        base = low
        if high - base >= window:
            return None
        head = bytes((UCS2_82, len(text), base >> 8, base & 0xFF))
    body = bytes(
        code if code is not None else 0x80 | (ord(char) - base)
        for char, code in zip(text, codes, strict=True)
    )
    return head + body


def encode_alpha(text: str) -> bytes:
    """The SIM alpha coding of `text`: GSM unpacked, else the shortest UCS-2 form."""
    gsm = gsm_or_none(text)
    if gsm is not None:
        return gsm
    candidates = [bytes((UCS2_80,)) + _ucs2(text)]
    candidates += [form for f in (UCS2_81, UCS2_82) if (form := _windowed(text, f)) is not None]
    return min(candidates, key=len)  # min keeps the first of equals: 0x80, then 0x81


def _strip_padding(data: bytes) -> bytes:
    return data.rstrip(bytes((PADDING,)))


def _decode_gsm(data: bytes, what: str) -> str:
    try:
        return gsm_decode(data)
    except CodingError as error:
        raise MalformedTlv(f"{what}: {error}") from None


def _decode_windowed(data: bytes, count: int, base: int, what: str) -> str:
    chars: list[str] = []
    at = 0
    while len(chars) < count:
        if at >= len(data):
            raise MalformedTlv(f"{what}: {count} characters announced, {len(chars)} present")
        byte = data[at]
        at += 1
        if byte & 0x80:
            chars.append(chr(base + (byte & 0x7F)))
        elif byte == ESCAPE and at < len(data) and data[at] < 0x80:
            chars.append(_decode_gsm(bytes((byte, data[at])), what))
            at += 1
        else:
            chars.append(_decode_gsm(bytes((byte,)), what))
    if _strip_padding(data[at:]):
        raise MalformedTlv(f"{what}: bytes after the {count} characters announced")
    return "".join(chars)


def decode_alpha(data: bytes, what: str = "alpha identifier") -> str:
    """Text from the SIM alpha coding, any of the four forms; `MalformedTlv` otherwise."""
    if not data:
        return ""
    first = data[0]
    if first == UCS2_80:
        body = data[1:]
        if len(body) % 2:
            if body[-1] != PADDING:
                raise MalformedTlv(f"{what}: UCS-2 (0x80) with an odd number of bytes")
            body = body[:-1]
        try:
            text = body.decode("utf-16-be")
        except UnicodeDecodeError as error:
            raise MalformedTlv(f"{what}: not UCS-2: {error.reason}") from None
        return text.rstrip("\uffff")
    if first == UCS2_81:
        if len(data) < 3:
            raise MalformedTlv(f"{what}: UCS-2 (0x81) needs a count and a base byte")
        return _decode_windowed(data[3:], data[1], data[2] << 7, what)
    if first == UCS2_82:
        if len(data) < 4:
            raise MalformedTlv(f"{what}: UCS-2 (0x82) needs a count and a two-byte base")
        return _decode_windowed(data[4:], data[1], data[2] << 8 | data[3], what)
    gsm = _strip_padding(data)
    if any(byte & 0x80 for byte in gsm):
        raise MalformedTlv(f"{what}: first byte 0x{first:02X}: neither GSM nor a UCS-2 form")
    return _decode_gsm(gsm, what)


def encode_text_string(text: str, dcs: int | None = None) -> bytes:
    """DCS byte + text: 0x04 (GSM unpacked) when every character is GSM, else 0x08 (UCS-2);
    or the `dcs` asked for (0x00 packs the GSM septets)."""
    gsm = gsm_or_none(text)
    if dcs is None:
        dcs = DCS_GSM_8BIT if gsm is not None else DCS_UCS2
    if dcs == DCS_UCS2:
        return bytes((dcs,)) + _ucs2(text)
    if dcs not in TEXT_DCS:
        raise StkError(f"text strings are coded with DCS 00, 04 or 08, not {dcs:02X}")
    if gsm is None:
        raise UnencodableAlpha(f"{text!r} is not all in the GSM default alphabet (DCS {dcs:02X})")
    return bytes((dcs,)) + (pack_septets(gsm) if dcs == DCS_GSM_PACKED else gsm)


def decode_text_string(data: bytes, what: str = "text string") -> tuple[str, int | None]:
    """(text, DCS) of a text string's value; the null text string is ("", None)."""
    if not data:
        return "", None
    dcs, body = data[0], data[1:]
    if dcs == DCS_GSM_8BIT:
        if any(byte & 0x80 for byte in body):
            raise MalformedTlv(f"{what}: DCS 04 text with a byte over 0x7F")
        return _decode_gsm(body, what), dcs
    if dcs == DCS_GSM_PACKED:
        return _decode_gsm(unpack_septets(body), what), dcs
    if dcs == DCS_UCS2:
        if len(body) % 2:
            raise MalformedTlv(f"{what}: UCS-2 text of {len(body)} bytes (odd)")
        try:
            return body.decode("utf-16-be"), dcs
        except UnicodeDecodeError as error:
            raise MalformedTlv(f"{what}: not UCS-2: {error.reason}") from None
    raise MalformedTlv(f"{what}: DCS 0x{dcs:02X} is none of 00, 04, 08")
