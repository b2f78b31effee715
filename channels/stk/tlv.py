"""BER-TLV and COMPREHENSION-TLV framing for SIM Toolkit (ETSI TS 102 223 §6 and §8, TS 101 220).

A proactive command is one BER-TLV (tag 0xD0) whose value is a run of COMPREHENSION-TLVs; an
ENVELOPE is the same with tags 0xD3 (MENU SELECTION) or 0xD1 (SMS-PP download); a TERMINAL
RESPONSE is a bare run of COMPREHENSION-TLVs with no outer tag (§6.8).

- A length is one byte 0x00..0x7F, or 0x81 followed by one byte 0x80..0xFF (TS 101 220 §7.1.2).
  Nothing here is longer than 255 bytes, so 0x82 and longer forms, 0x80 (indefinite) and a
  non-minimal 0x81 nn with nn < 0x80 are refused as malformed.
- A COMPREHENSION-TLV tag is one byte: bit 8 is the comprehension-required (CR) flag, bits 7..1
  the tag value. 0x00, 0x80 and 0xFF are not tags; 0x7F opens the three-byte tag format, which
  no command here uses. An unknown tag with CR set is an error ("unknown comprehension-required
  tag"); an unknown tag without it is skipped (TS 102 223 §6.10, "minimum set of ... data
  objects"; §8 opening paragraph on the CR flag).

Everything is pure bytes in, values out: no asyncio, no I/O (the h11 style of STYLE.md). Errors
say whose fault it is: `MalformedTlv` is the sender's (the bytes are not what the
specification allows), `CommandTooLong` the encoder's caller (a text too long for one command).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

CR: Final = 0x80  # comprehension required
LONG_LENGTH: Final = 0x81
length_max: Final = 255
THREE_BYTE_TAG: Final = 0x7F

# BER-TLV tags (TS 101 220 §7.2)
PROACTIVE_COMMAND: Final = 0xD0
SMS_PP_DOWNLOAD: Final = 0xD1
MENU_SELECTION: Final = 0xD3

# COMPREHENSION-TLV tag values, CR bit clear (TS 101 220 §7.3, TS 102 223 §8)
COMMAND_DETAILS: Final = 0x01
DEVICE_IDENTITIES: Final = 0x02
RESULT: Final = 0x03
ALPHA_IDENTIFIER: Final = 0x05
ADDRESS: Final = 0x06
SMS_TPDU: Final = 0x0B
TEXT_STRING: Final = 0x0D
ITEM: Final = 0x0F
ITEM_IDENTIFIER: Final = 0x10
RESPONSE_LENGTH: Final = 0x11
DEFAULT_TEXT: Final = 0x17
KNOWN_TAGS: Final = frozenset(
    {
        COMMAND_DETAILS, DEVICE_IDENTITIES, RESULT, ALPHA_IDENTIFIER, ADDRESS, SMS_TPDU,
        TEXT_STRING, ITEM, ITEM_IDENTIFIER, RESPONSE_LENGTH, DEFAULT_TEXT,
    }
)  # fmt: skip


class StkError(ValueError):
    """Bytes or values the SIM Toolkit codec cannot take."""


class MalformedTlv(StkError):
    """The sender's fault: the bytes break the TLV rules of TS 101 220 / TS 102 223."""


class UnknownRequiredTag(MalformedTlv):
    """A COMPREHENSION-TLV with the CR bit set whose tag this codec does not know."""


class CommandTooLong(StkError):
    """The caller's fault: the values make a command (or a data object) over 255 bytes."""


@dataclass(frozen=True, slots=True)
class Tlv:
    """One COMPREHENSION-TLV: `tag` without the CR bit, whether CR was set, the value."""

    tag: int
    value: bytes
    required: bool = True


def encode_length(length: int) -> bytes:
    if length < 0 or length > length_max:
        raise CommandTooLong(f"a length is 0..{length_max}, got {length}")
    return bytes((length,)) if length < 0x80 else bytes((LONG_LENGTH, length))


def read_length(data: bytes, at: int) -> tuple[int, int]:
    """(length, offset of the value) for the length field at `data[at]`."""
    if at >= len(data):
        raise MalformedTlv(f"truncated: no length byte at offset {at}")
    first = data[at]
    if first < 0x80:
        return first, at + 1
    if first != LONG_LENGTH:
        raise MalformedTlv(
            f"length byte 0x{first:02X} at offset {at}: only 00..7F or 81 nn are allowed"
        )
    if at + 1 >= len(data):
        raise MalformedTlv(f"truncated: 0x81 at offset {at} without its length byte")
    length = data[at + 1]
    if length < 0x80:
        raise MalformedTlv(f"length 0x81 {length:02X} at offset {at}: not the minimal form")
    return length, at + 2


def encode_tlv(tag: int, value: bytes) -> bytes:
    """A TLV with a one-byte tag (BER or COMPREHENSION, the tag byte as given)."""
    if len(value) > length_max:
        raise CommandTooLong(f"tag 0x{tag:02X}: {len(value)} bytes > {length_max}")
    return bytes((tag,)) + encode_length(len(value)) + value


def simple(tag: int, value: bytes, *, required: bool = True) -> bytes:
    """A COMPREHENSION-TLV: `tag` with the CR bit set when `required`."""
    return encode_tlv(tag | CR if required else tag, value)


def encode_ber(tag: int, objects: Iterable[bytes]) -> bytes:
    """A BER-TLV (proactive command, envelope) around already encoded COMPREHENSION-TLVs; the
    whole must fit 255 bytes (`CommandTooLong` otherwise)."""
    value = b"".join(objects)
    whole = 1 + (1 if len(value) < 0x80 else 2) + len(value)
    if whole > length_max:
        raise CommandTooLong(f"tag 0x{tag:02X}: the whole is {whole} bytes > {length_max}")
    return encode_tlv(tag, value)


def decode_ber(data: bytes, expected: Iterable[int]) -> tuple[int, bytes]:
    """(tag, value) of one BER-TLV that is the whole of `data` and has one of the tags."""
    if not data:
        raise MalformedTlv("empty: no BER-TLV tag")
    tag = data[0]
    allowed = tuple(expected)
    if tag not in allowed:
        names = ", ".join(f"0x{t:02X}" for t in allowed)
        raise MalformedTlv(f"BER-TLV tag 0x{tag:02X}, expected {names}")
    length, start = read_length(data, 1)
    end = start + length
    if end > len(data):
        raise MalformedTlv(
            f"truncated: tag 0x{tag:02X} says {length} bytes, {len(data) - start} follow"
        )
    if end < len(data):
        raise MalformedTlv(f"{len(data) - end} byte(s) after the BER-TLV's {length}")
    return tag, data[start:end]


def decode_comprehension(data: bytes) -> list[Tlv]:
    """The COMPREHENSION-TLVs in `data`, unknown non-CR tags skipped."""
    objects = []
    at = 0
    while at < len(data):
        byte = data[at]
        if byte in (0x00, 0x80, 0xFF):
            raise MalformedTlv(f"0x{byte:02X} at offset {at} is not a COMPREHENSION-TLV tag")
        if byte & ~CR == THREE_BYTE_TAG:
            raise MalformedTlv(
                f"three-byte tag format at offset {at} is not used by these commands"
            )
        length, start = read_length(data, at + 1)
        end = start + length
        if end > len(data):
            raise MalformedTlv(
                f"truncated: tag 0x{byte:02X} at offset {at} says {length} bytes,"
                f" {len(data) - start} follow"
            )
        tag, required = byte & ~CR, bool(byte & CR)
        if tag in KNOWN_TAGS:
            objects.append(Tlv(tag, data[start:end], required))
        elif required:
            raise UnknownRequiredTag(
                f"unknown comprehension-required tag 0x{byte:02X} at offset {at}"
            )
        at = end
    return objects


def find(objects: Iterable[Tlv], tag: int) -> Tlv | None:
    """The first data object with this tag."""
    return next((o for o in objects if o.tag == tag), None)


def need(objects: Iterable[Tlv], tag: int, what: str) -> bytes:
    """The value of a mandatory data object, or `MalformedTlv` naming it."""
    found = find(objects, tag)
    if found is None:
        raise MalformedTlv(f"{what} (tag 0x{tag | CR:02X}) is missing")
    return found.value
