"""SMPP 3.4 PDUs: typed dataclasses, `decode` for one frame, `encode`, and the `Framer`.

Sans-IO in the manner of h11: the transport feeds bytes to a `Framer`, takes whole frames
from `next_frame()`, `decode`s each into a `Frame` (command id, status, sequence, typed PDU) and
writes `pdu.to_bytes(sequence, status)`. Command ids and statuses stay plain ints: an unknown
command id decodes to `UnknownPdu` (the caller answers generic_nack ESME_RINVCMDID), a vendor
status (0x400..0x4FF) decodes like any other. Malformed input raises `PduError` carrying the
status to answer with and the sequence number when it was read:

- an over-long C-octet string: the field's own status (ESME_RINVSYSID, ESME_RINVSRCADR, ...);
- a body that ends inside a field (unterminated string, missing octets): ESME_RINVCMDLEN;
- a short_message length beyond the body or over 254: ESME_RINVMSGLEN;
- a broken TLV: ESME_RINVOPTPARSTREAM (truncated header) / ESME_RINVPARLEN (value too long);
- a command_length under 16, over `pdu_length_max` or unlike the frame's: ESME_RINVCMDLEN and
  `fatal` (the stream is lost: answer generic_nack, then drop the link).

Responses are accepted with or without a body (SMSCs leave it out on errors); header-only PDUs
ignore trailing octets.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Final

from channels.smpp import constants as c
from channels.smpp._pdu_types import (
    _BIND_KINDS,
    BIND_IDS,
    ESM_CLASS_RECEIPT,
    ESM_CLASS_UDHI,
    BindKind,
    BindRequest,
    BindResponse,
    DeliverSm,
    DeliverSmResp,
    EmptyPdu,
    EnquireLink,
    EnquireLinkResp,
    Frame,
    GenericNack,
    MessageIdResponse,
    Outbind,
    Pdu,
    ShortMessagePdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    UnknownPdu,
    address_range_size_max,
    address_size_max,
    message_id_size_max,
    password_size_max,
    service_type_size_max,
    short_message_length_max,
    system_id_size_max,
    system_type_size_max,
    time_size_max,
)
from channels.smpp.errors import PduError, PduValueError
from channels.smpp.tlv import SC_INTERFACE_VERSION, decode_tlvs, tlv_int

pdu_length_max: Final = 64 * 1024  # octets; SMPP needs < 1 KiB bar a long message_payload
_HEADER: Final = struct.Struct("!IIII")
_LENGTH: Final = struct.Struct("!I")

Reader = Callable[[bytes, int, int], Pdu]


def encode(pdu: Pdu, sequence: int, status: int = c.ESME_ROK) -> bytes:
    """The frame for `pdu`: the same as `pdu.to_bytes(sequence, status)`."""
    return pdu.to_bytes(sequence, status)


def decode(frame: bytes | bytearray | memoryview) -> Frame:
    """One whole frame (as `Framer.next_frame` returns it) into a typed `Frame`."""
    buf = bytes(frame)
    if len(buf) < c.header_length:
        raise PduError(
            f"a frame of {len(buf)} octets has no header",
            command_status=c.ESME_RINVCMDLEN,
            fatal=True,
        )
    length, command_id, status, sequence = _HEADER.unpack_from(buf)
    if length != len(buf):
        raise PduError(
            f"command_length {length} but the frame has {len(buf)} octets",
            command_status=c.ESME_RINVCMDLEN,
            sequence=sequence,
            command_id=command_id,
            fatal=True,
        )
    reader = _READERS.get(command_id)
    if reader is None:
        pdu: Pdu = UnknownPdu(command_id, status, sequence, buf[c.header_length :])
        return Frame(command_id, status, sequence, pdu)
    try:
        pdu = reader(buf, command_id, sequence)
    except PduError as error:
        error.command_id = command_id
        raise
    except PduValueError as error:
        raise PduError(
            str(error), command_status=error.command_status, sequence=sequence,
            command_id=command_id,
        ) from error  # fmt: skip
    return Frame(command_id, status, sequence, pdu)


def _cstring(
    buf: bytes, pos: int, size_max: int, name: str, status: int, sequence: int
) -> tuple[str, int]:
    """A C-octet string at `pos` and the position after its NUL."""
    nul = buf.find(0, pos, pos + size_max)
    if nul >= 0:
        return buf[pos:nul].decode("latin-1"), nul + 1
    if len(buf) - pos < size_max:
        raise PduError(
            f"the body ends inside {name} (no NUL)",
            command_status=c.ESME_RINVCMDLEN,
            sequence=sequence,
        )
    raise PduError(
        f"{name} is longer than {size_max - 1} octets", command_status=status, sequence=sequence
    )


def _octets(buf: bytes, pos: int, count: int, name: str, sequence: int) -> bytes:
    if pos + count > len(buf):
        raise PduError(
            f"the body ends before {name}", command_status=c.ESME_RINVCMDLEN, sequence=sequence
        )
    return buf[pos : pos + count]


def _read_bind(buf: bytes, command_id: int, sequence: int) -> Pdu:
    pos = c.header_length
    system_id, pos = _cstring(buf, pos, system_id_size_max, "system_id", c.ESME_RINVSYSID, sequence)
    password, pos = _cstring(buf, pos, password_size_max, "password", c.ESME_RINVPASWD, sequence)
    system_type, pos = _cstring(
        buf, pos, system_type_size_max, "system_type", c.ESME_RINVSYSTYP, sequence
    )
    version, ton, npi = _octets(buf, pos, 3, "interface_version", sequence)
    address_range, pos = _cstring(
        buf, pos + 3, address_range_size_max, "address_range", c.ESME_RINVSRCADR, sequence
    )
    return BindRequest(
        kind=_BIND_KINDS[command_id], system_id=system_id, password=password,
        system_type=system_type, interface_version=version, addr_ton=ton, addr_npi=npi,
        address_range=address_range,
    )  # fmt: skip


def _read_bind_resp(buf: bytes, command_id: int, sequence: int) -> Pdu:
    kind = _BIND_KINDS[command_id & ~c.RESPONSE_BIT]
    pos = c.header_length
    if pos == len(buf):
        return BindResponse(kind=kind)
    system_id, pos = _cstring(buf, pos, system_id_size_max, "system_id", c.ESME_RINVSYSID, sequence)
    version = tlv_int(decode_tlvs(buf, pos, sequence), SC_INTERFACE_VERSION)
    return BindResponse(kind=kind, system_id=system_id, sc_interface_version=version)


def _read_short_message(buf: bytes, command_id: int, sequence: int) -> Pdu:
    pos = c.header_length
    service_type, pos = _cstring(
        buf, pos, service_type_size_max, "service_type", c.ESME_RINVSERTYP, sequence
    )
    source_ton, source_npi = _octets(buf, pos, 2, "source_addr_ton", sequence)
    source, pos = _cstring(
        buf, pos + 2, address_size_max, "source_addr", c.ESME_RINVSRCADR, sequence
    )
    dest_ton, dest_npi = _octets(buf, pos, 2, "dest_addr_ton", sequence)
    dest, pos = _cstring(
        buf, pos + 2, address_size_max, "destination_addr", c.ESME_RINVDSTADR, sequence
    )
    esm_class, protocol_id, priority = _octets(buf, pos, 3, "esm_class", sequence)
    schedule, pos = _cstring(
        buf, pos + 3, time_size_max, "schedule_delivery_time", c.ESME_RINVSCHED, sequence
    )
    validity, pos = _cstring(
        buf, pos, time_size_max, "validity_period", c.ESME_RINVEXPIRY, sequence
    )
    registered, replace, coding, default_id, sm_length = _octets(
        buf, pos, 5, "registered_delivery", sequence
    )
    pos += 5
    if sm_length > short_message_length_max or pos + sm_length > len(buf):
        raise PduError(
            f"sm_length {sm_length} with {len(buf) - pos} octets left",
            command_status=c.ESME_RINVMSGLEN,
            sequence=sequence,
        )
    cls = SubmitSm if command_id == c.SUBMIT_SM else DeliverSm
    return cls(
        service_type=service_type, source_addr_ton=source_ton, source_addr_npi=source_npi,
        source_addr=source, dest_addr_ton=dest_ton, dest_addr_npi=dest_npi,
        destination_addr=dest, esm_class=esm_class, protocol_id=protocol_id,
        priority_flag=priority, schedule_delivery_time=schedule, validity_period=validity,
        registered_delivery=registered, replace_if_present_flag=replace, data_coding=coding,
        sm_default_msg_id=default_id, short_message=buf[pos : pos + sm_length],
        tlvs=decode_tlvs(buf, pos + sm_length, sequence),
    )  # fmt: skip


def _read_message_id(buf: bytes, command_id: int, sequence: int) -> Pdu:
    cls = SubmitSmResp if command_id == c.SUBMIT_SM_RESP else DeliverSmResp
    if len(buf) == c.header_length:
        return cls()
    message_id, _ = _cstring(
        buf, c.header_length, message_id_size_max, "message_id", c.ESME_RINVMSGID, sequence
    )
    return cls(message_id)


def _read_outbind(buf: bytes, command_id: int, sequence: int) -> Pdu:
    pos = c.header_length
    system_id, pos = _cstring(buf, pos, system_id_size_max, "system_id", c.ESME_RINVSYSID, sequence)
    password, pos = _cstring(buf, pos, password_size_max, "password", c.ESME_RINVPASWD, sequence)
    return Outbind(system_id, password)


def _empty(cls: type[EmptyPdu]) -> Reader:
    instance = cls()
    return lambda buf, command_id, sequence: instance  # type: ignore[return-value]


_READERS: Final[dict[int, Reader]] = {
    **{command_id: _read_bind for command_id in BIND_IDS.values()},
    **{command_id | c.RESPONSE_BIT: _read_bind_resp for command_id in BIND_IDS.values()},
    c.SUBMIT_SM: _read_short_message,
    c.DELIVER_SM: _read_short_message,
    c.SUBMIT_SM_RESP: _read_message_id,
    c.DELIVER_SM_RESP: _read_message_id,
    c.OUTBIND: _read_outbind,
    **{
        cls.command_id: _empty(cls)
        for cls in (EnquireLink, EnquireLinkResp, Unbind, UnbindResp, GenericNack)
    },
}


class Framer:
    """Cuts a byte stream into frames by command_length; bounded, no quadratic copies.

    A bad command_length raises a fatal `PduError` (ESME_RINVCMDLEN, with the sequence when
    the header was whole): the stream cannot be resynchronised, so answer and drop the link.
    """

    __slots__ = ("_buffer", "_length_max")

    def __init__(self, length_max: int = pdu_length_max) -> None:
        assert c.header_length <= length_max, "a frame holds at least a header"
        self._buffer = bytearray()
        self._length_max = length_max

    @property
    def buffered(self) -> int:
        """Octets received but not yet handed out as frames."""
        return len(self._buffer)

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        self._buffer += data

    def next_frame(self) -> bytes | None:
        """The next whole frame, or None until more bytes are fed."""
        buf = self._buffer
        if len(buf) < 4:
            return None
        (length,) = _LENGTH.unpack_from(buf)
        if not c.header_length <= length <= self._length_max:
            sequence = _LENGTH.unpack_from(buf, 12)[0] if len(buf) >= c.header_length else None
            raise PduError(
                f"command_length {length} is outside {c.header_length}..{self._length_max}",
                command_status=c.ESME_RINVCMDLEN,
                sequence=sequence,
                fatal=True,
            )
        if len(buf) < length:
            return None
        frame = bytes(buf[:length])
        del buf[:length]  # CPython moves the start of a bytearray: no copy of the rest
        return frame


__all__ = [
    "BIND_IDS",
    "ESM_CLASS_RECEIPT",
    "ESM_CLASS_UDHI",
    "BindKind",
    "BindRequest",
    "BindResponse",
    "DeliverSm",
    "DeliverSmResp",
    "EmptyPdu",
    "EnquireLink",
    "EnquireLinkResp",
    "Frame",
    "Framer",
    "GenericNack",
    "MessageIdResponse",
    "Outbind",
    "Pdu",
    "PduError",
    "ShortMessagePdu",
    "SubmitSm",
    "SubmitSmResp",
    "Unbind",
    "UnbindResp",
    "UnknownPdu",
    "address_range_size_max",
    "address_size_max",
    "decode",
    "encode",
    "message_id_size_max",
    "password_size_max",
    "pdu_length_max",
    "service_type_size_max",
    "short_message_length_max",
    "system_id_size_max",
    "system_type_size_max",
    "time_size_max",
]
