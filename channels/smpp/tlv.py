"""SMPP 3.4 optional parameters (TLVs): tag, length, value, and the value is always bytes.

Unknown tags are kept verbatim and re-encoded unchanged, so a vendor TLV survives a relay.
Typed readers (`ItsSessionInfo`, `tlv_int`) interpret a value only when asked.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from channels.smpp.constants import ESME_RINVOPTPARSTREAM, ESME_RINVPARLEN
from channels.smpp.errors import PduError, PduValueError

# SMPP 3.4 5.3.2 tags used by this platform.
DEST_ADDR_SUBUNIT: Final = 0x0005
RECEIPTED_MESSAGE_ID: Final = 0x001E
USER_MESSAGE_REFERENCE: Final = 0x0204
SAR_MSG_REF_NUM: Final = 0x020C
SAR_TOTAL_SEGMENTS: Final = 0x020E
SAR_SEGMENT_SEQNUM: Final = 0x020F
SC_INTERFACE_VERSION: Final = 0x0210
NETWORK_ERROR_CODE: Final = 0x0423
MESSAGE_PAYLOAD: Final = 0x0424
MESSAGE_STATE: Final = 0x0427
USSD_SERVICE_OP: Final = 0x0501
ITS_SESSION_INFO: Final = 0x1383

# ussd_service_op values (SMPP 3.4 5.3.2.44).
USSD_PSSD_INDICATION: Final = 0
USSD_PSSR_INDICATION: Final = 1
USSD_USSR_REQUEST: Final = 2
USSD_USSN_REQUEST: Final = 3
USSD_PSSD_RESPONSE: Final = 16
USSD_PSSR_RESPONSE: Final = 17
USSD_USSR_CONFIRM: Final = 18
USSD_USSN_CONFIRM: Final = 19

tlv_value_length_max: Final = 0xFFFF  # the 16-bit length field
tlv_header_length: Final = 4
its_sequence_max: Final = 127  # 7 bits

_HEADER = struct.Struct("!HH")


@dataclass(frozen=True, slots=True)
class Tlv:
    tag: int
    value: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.tag <= 0xFFFF:
            raise PduValueError(f"TLV tag {self.tag} does not fit 16 bits")
        if not isinstance(self.value, bytes):
            raise PduValueError(f"TLV 0x{self.tag:04X} value must be bytes")
        if len(self.value) > tlv_value_length_max:
            raise PduValueError(f"TLV 0x{self.tag:04X} value is over {tlv_value_length_max}")

    @classmethod
    def u8(cls, tag: int, value: int) -> Tlv:
        if not 0 <= value <= 0xFF:
            raise PduValueError(f"TLV 0x{tag:04X} value {value} does not fit one octet")
        return cls(tag, bytes((value,)))

    @classmethod
    def u16(cls, tag: int, value: int) -> Tlv:
        if not 0 <= value <= 0xFFFF:
            raise PduValueError(f"TLV 0x{tag:04X} value {value} does not fit two octets")
        return cls(tag, value.to_bytes(2, "big"))

    @classmethod
    def cstring(cls, tag: int, value: str) -> Tlv:
        """A C-octet string value (receipted_message_id): the text and a terminating NUL."""
        return cls(tag, value.encode("latin-1") + b"\0")


@dataclass(frozen=True, slots=True)
class ItsSessionInfo:
    """its_session_info (0x1383): session number, then sequence in bits 7..1, end in bit 0."""

    session: int
    sequence: int
    end: bool

    def __post_init__(self) -> None:
        if not 0 <= self.session <= 0xFF:
            raise PduValueError(f"its_session_info session {self.session} is not 0..255")
        if not 0 <= self.sequence <= its_sequence_max:
            raise PduValueError(f"its_session_info sequence {self.sequence} is not 0..127")

    def encode(self) -> bytes:
        return bytes((self.session, (self.sequence << 1) | int(self.end)))

    def to_tlv(self) -> Tlv:
        return Tlv(ITS_SESSION_INFO, self.encode())

    @classmethod
    def decode(cls, value: bytes) -> ItsSessionInfo:
        if len(value) != 2:
            raise PduValueError(f"its_session_info is {len(value)} octets, not 2")
        return cls(value[0], value[1] >> 1, bool(value[1] & 1))


def find_tlv(tlvs: Iterable[Tlv], tag: int) -> bytes | None:
    """The first value with this tag, or None."""
    for tlv in tlvs:
        if tlv.tag == tag:
            return tlv.value
    return None


def tlv_int(tlvs: Iterable[Tlv], tag: int) -> int | None:
    """An unsigned big-endian integer value (1, 2 or 4 octets), or None when absent/empty."""
    value = find_tlv(tlvs, tag)
    if not value:
        return None
    return int.from_bytes(value, "big")


def tlv_cstring(tlvs: Iterable[Tlv], tag: int) -> str | None:
    """A C-octet string value without its NUL (tolerant of a missing NUL), or None."""
    value = find_tlv(tlvs, tag)
    if value is None:
        return None
    return value.split(b"\0", 1)[0].decode("latin-1")


def encode_tlvs(tlvs: Iterable[Tlv]) -> bytes:
    pack = _HEADER.pack
    return b"".join(pack(t.tag, len(t.value)) + t.value for t in tlvs)


def decode_tlvs(body: bytes, pos: int, sequence: int) -> tuple[Tlv, ...]:
    """Every TLV from `pos` to the end of `body`; a truncated one is the peer's fault."""
    end = len(body)
    tlvs = []
    unpack = _HEADER.unpack_from
    while pos < end:
        if end - pos < tlv_header_length:
            raise PduError(
                f"{end - pos} octets after the last TLV: not a TLV header",
                command_status=ESME_RINVOPTPARSTREAM,
                sequence=sequence,
            )
        tag, length = unpack(body, pos)
        pos += tlv_header_length
        if pos + length > end:
            raise PduError(
                f"TLV 0x{tag:04X} claims {length} octets, {end - pos} remain",
                command_status=ESME_RINVPARLEN,
                sequence=sequence,
            )
        tlvs.append(Tlv(tag, body[pos : pos + length]))
        pos += length
    return tuple(tlvs)
