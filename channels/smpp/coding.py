"""Text codings for SMPP user data, mapped per link from data_coding (sans-IO).

A link's `CodingMap` says which codec a data_coding value means: 0x0F is GSM 7-bit on a USSD
link but GBK on some Chinese SMS links (ARCHITECTURE.md, "SMS"). Decoding never raises anything
but a `CodingError` (`UnknownCoding`, `UndecodableText`): a text we cannot read is a reason to
answer ESME_RINVDCS or to store the bytes, never to drop the link. The GSM 03.38 tables are
`dialogs.gsm`'s, shared with the part and page counts.

Codecs: "gsm7" (unpacked, one septet per octet, the usual SMPP form; extension characters as
ESC + code), "gsm7-packed" (3GPP TS 23.038 6.1.2.1 packing), "ascii", "latin1", "ucs2"
(UTF-16-BE: a character outside the BMP travels as a surrogate pair), "ucs2-lang" (CBS 0x11:
two packed GSM characters of ISO 639 language, stripped on decode, added on encode), "gbk".
Data codings 0xF0..0xFF not in the map follow their message-class meaning: bit 2 clear is GSM
7-bit, set is 8-bit data (no text: `UnknownCoding`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from channels.smpp.errors import UndecodableText, UnencodableText, UnknownCoding
from dialogs.gsm import DEFAULT_ALPHABET, EXTENSION

ESCAPE: Final = 0x1B
# 3GPP TS 23.038 6.2.1.1: the code of each `EXTENSION` character after the escape.
EXTENSION_CODES: Final = (0x0A, 0x14, 0x28, 0x29, 0x2F, 0x3C, 0x3D, 0x3E, 0x40, 0x65)
CODECS: Final = frozenset({"gsm7", "gsm7-packed", "ascii", "latin1", "ucs2", "ucs2-lang", "gbk"})
SMS_CODINGS: Final[Mapping[int, str]] = MappingProxyType(
    {0x00: "gsm7", 0x01: "ascii", 0x03: "latin1", 0x08: "ucs2"}
)
USSD_CODINGS: Final[Mapping[int, str]] = MappingProxyType(
    {0x0F: "gsm7", 0x08: "ucs2", 0x48: "ucs2", 0x11: "ucs2-lang", 0x00: "gsm7"}
)
default_language: Final = "zh"  # ISO 639 code the "ucs2-lang" codec adds on encode
_message_class_min: Final = 0xF0
_message_class_8bit: Final = 0x04

assert len(EXTENSION_CODES) == len(EXTENSION), "one code per extension character"
_GSM_ENCODE: Final[dict[str, bytes]] = {
    char: bytes((code,)) for code, char in enumerate(DEFAULT_ALPHABET) if code != ESCAPE
} | {char: bytes((ESCAPE, code)) for char, code in zip(EXTENSION, EXTENSION_CODES, strict=True)}
_GSM_DECODE: Final = DEFAULT_ALPHABET
_GSM_EXTENSION_DECODE: Final[dict[int, str]] = dict(zip(EXTENSION_CODES, EXTENSION, strict=True))


def gsm_encode(text: str) -> bytes:
    """GSM 7-bit unpacked: one septet per octet, extension characters as ESC + code."""
    table = _GSM_ENCODE
    try:
        return b"".join([table[char] for char in text])
    except KeyError as error:
        raise UnencodableText(f"{error.args[0]!r} is not in the GSM 7-bit alphabet") from None


def gsm_decode(septets: bytes) -> str:
    """GSM 7-bit unpacked into text; an unknown extension code reads as its default character."""
    if septets.isascii() and ESCAPE not in septets:  # the common case, one table lookup each
        return "".join([_GSM_DECODE[septet] for septet in septets])
    chars = []
    escaped = False
    for septet in septets:
        if septet > 0x7F:
            raise UndecodableText(f"octet 0x{septet:02X} is not a GSM 7-bit septet")
        if escaped:
            chars.append(_GSM_EXTENSION_DECODE.get(septet, _GSM_DECODE[septet]))
            escaped = False
        elif septet == ESCAPE:
            escaped = True
        else:
            chars.append(_GSM_DECODE[septet])
    return "".join(chars)  # a lone trailing escape is dropped


def pack_septets(septets: bytes) -> bytes:
    """3GPP TS 23.038 6.1.2.1.1 packing; 7 spare bits at the end are filled with CR (USSD)."""
    if any(septet > 0x7F for septet in septets):
        raise UnencodableText("a septet is over 0x7F")
    if len(septets) % 8 == 7:
        septets += b"\r"  # 6.1.2.3.1: so the spare bits do not read as '@'
    out = bytearray()
    bits = width = 0
    for septet in septets:
        bits |= septet << width
        width += 7
        while width >= 8:
            out.append(bits & 0xFF)
            bits >>= 8
            width -= 8
    if width:
        out.append(bits)
    return bytes(out)


def unpack_septets(data: bytes, count: int | None = None) -> bytes:
    """Packed octets into septets; without `count`, a final CR filling 7 spare bits is dropped."""
    septets = bytearray()
    bits = width = 0
    for octet in data:
        bits |= octet << width
        width += 8
        while width >= 7:
            septets.append(bits & 0x7F)
            bits >>= 7
            width -= 7
    if count is not None:
        return bytes(septets[:count])
    if len(data) % 7 == 0 and septets and septets[-1] == 0x0D:
        del septets[-1]
    return bytes(septets)


def _decode_ucs2(data: bytes) -> str:
    if len(data) % 2:
        raise UndecodableText(f"UCS-2 text of {len(data)} octets (odd)")
    try:
        return data.decode("utf-16-be")
    except UnicodeDecodeError as error:
        raise UndecodableText(f"not UTF-16-BE: {error.reason}") from None


def decode_text(codec: str, data: bytes) -> str:
    """`data` in the named codec; raises only `CodingError`."""
    match codec:
        case "gsm7":
            return gsm_decode(data)
        case "gsm7-packed":
            return gsm_decode(unpack_septets(data))
        case "ucs2":
            return _decode_ucs2(data)
        case "ucs2-lang":
            return _decode_ucs2(data[2:])
        case "ascii" | "latin1" | "gbk":
            try:
                return data.decode(codec)
            except UnicodeDecodeError as error:
                raise UndecodableText(f"not {codec}: {error.reason}") from None
    raise UnknownCoding(f"no codec {codec!r}")


def encode_text(codec: str, text: str, *, language: str = default_language) -> bytes:
    """`text` in the named codec; a character it cannot carry raises `UnencodableText`."""
    match codec:
        case "gsm7":
            return gsm_encode(text)
        case "gsm7-packed":
            return pack_septets(gsm_encode(text))
        case "ucs2":
            return text.encode("utf-16-be")
        case "ucs2-lang":
            if len(language) != 2:
                raise UnencodableText(f"language {language!r} is not a two-letter ISO 639 code")
            return pack_septets(gsm_encode(language)) + text.encode("utf-16-be")
        case "ascii" | "latin1" | "gbk":
            try:
                return text.encode(codec)
            except UnicodeEncodeError as error:
                raise UnencodableText(f"{text[error.start]!r} is not in {codec}") from None
    raise UnknownCoding(f"no codec {codec!r}")


@dataclass(frozen=True, slots=True)
class MtCoding:
    """The data_coding chosen for a text, its codec, and the octets one unit takes."""

    data_coding: int
    codec: str
    octets_per_unit: int  # 1 for an unpacked GSM septet, 2 for a UTF-16 code unit


@dataclass(frozen=True, slots=True)
class CodingMap:
    """One link's data_coding -> codec name; validated on construction."""

    codecs: Mapping[int, str] = field(default_factory=lambda: SMS_CODINGS)

    def __post_init__(self) -> None:
        for data_coding, codec in self.codecs.items():
            if not 0 <= data_coding <= 0xFF:
                raise ValueError(f"data_coding {data_coding} is not 0..255")
            if codec not in CODECS:
                raise ValueError(f"data_coding 0x{data_coding:02X}: no codec {codec!r}; "
                                 f"one of {sorted(CODECS)}")  # fmt: skip
        object.__setattr__(self, "codecs", MappingProxyType(dict(self.codecs)))

    @classmethod
    def sms(cls) -> CodingMap:
        return cls(SMS_CODINGS)

    @classmethod
    def ussd(cls) -> CodingMap:
        return cls(USSD_CODINGS)

    @classmethod
    def from_config(
        cls, config: Mapping[str, str], base: Mapping[int, str] = SMS_CODINGS
    ) -> CodingMap:
        """`{"0x0F": "gbk", "8": "ucs2"}` over `base`; a bad key or codec raises ValueError."""
        codecs = dict(base)
        for key, codec in config.items():
            try:
                data_coding = int(key, 0)
            except (TypeError, ValueError):
                raise ValueError(f"data_coding {key!r} is not a number like 0x0F or 8") from None
            codecs[data_coding] = codec
        return cls(codecs)

    def codec(self, data_coding: int) -> str:
        """The codec name for `data_coding`, or `UnknownCoding`."""
        codec = self.codecs.get(data_coding)
        if codec is not None:
            return codec
        if data_coding >= _message_class_min and not data_coding & _message_class_8bit:
            return "gsm7"
        raise UnknownCoding(f"data_coding 0x{data_coding:02X} is not text on this link")

    def decode(self, data_coding: int, data: bytes) -> str:
        return decode_text(self.codec(data_coding), data)

    def encode(self, data_coding: int, text: str, *, language: str = default_language) -> bytes:
        return encode_text(self.codec(data_coding), text, language=language)

    def choose_mt_coding(self, text: str) -> MtCoding:
        """GSM 7-bit when every character fits, UCS-2 otherwise (this map's values for them)."""
        try:
            gsm_encode(text)
        except UnencodableText:
            return MtCoding(self._value_of("ucs2"), "ucs2", 2)
        return MtCoding(self._value_of("gsm7"), "gsm7", 1)

    def _value_of(self, codec: str) -> int:
        """The first data_coding in the map's order that means `codec` (USSD: 0x0F, 0x08)."""
        for data_coding, name in self.codecs.items():
            if name == codec:
                return data_coding
        raise UnknownCoding(f"this link has no data_coding for {codec}")
