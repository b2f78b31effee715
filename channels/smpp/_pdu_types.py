"""SMPP 3.4 PDUs as frozen, self-validating dataclasses that encode themselves (`to_bytes`).

Public through `channels.smpp.pdu`, which adds the decoder and the framer. C-octet strings are
Latin-1 (lossless; SMPP says ASCII) within SMPP 3.4's sizes, the NUL included. A value SMPP
cannot carry raises `PduValueError` with the status a peer sending it would be answered with.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar, Final, Literal

from channels.smpp import constants as c
from channels.smpp.errors import PduValueError
from channels.smpp.tlv import (
    ITS_SESSION_INFO,
    MESSAGE_PAYLOAD,
    SC_INTERFACE_VERSION,
    USER_MESSAGE_REFERENCE,
    USSD_SERVICE_OP,
    ItsSessionInfo,
    Tlv,
    encode_tlvs,
    find_tlv,
    tlv_int,
)

# SMPP 3.4 5.2 C-octet string sizes, the terminating NUL included.
system_id_size_max: Final = 16
password_size_max: Final = 9
system_type_size_max: Final = 13
service_type_size_max: Final = 6
address_size_max: Final = 21
address_range_size_max: Final = 41
message_id_size_max: Final = 65
time_size_max: Final = 17
short_message_length_max: Final = 254  # octets; longer texts travel in message_payload
sequence_wire_max: Final = 0xFFFFFFFF  # a response echoes whatever sequence the peer used

ESM_CLASS_RECEIPT: Final = 0x04  # esm_class message type: SMSC delivery receipt
ESM_CLASS_UDHI: Final = 0x40  # user data starts with a user-data header

BindKind = Literal["transceiver", "transmitter", "receiver"]
BIND_IDS: Final[dict[BindKind, int]] = {
    "transceiver": c.BIND_TRANSCEIVER,
    "transmitter": c.BIND_TRANSMITTER,
    "receiver": c.BIND_RECEIVER,
}
_BIND_KINDS: Final[dict[int, BindKind]] = {
    command_id: kind for kind, command_id in BIND_IDS.items()
}
_HEADER: Final = struct.Struct("!IIII")
_NUL: Final = b"\0"


def _check_cstring(value: str, size_max: int, name: str, status: int) -> None:
    if len(value) < size_max and "\0" not in value and (value.isascii() or _is_latin1(value)):
        return
    raise PduValueError(
        f"{name} must be Latin-1 under {size_max} octets without NUL", command_status=status
    )


def _is_latin1(value: str) -> bool:
    return max(value) <= "\xff"


def _check_octets(pdu: object, names: tuple[str, ...]) -> None:
    values = [getattr(pdu, name) for name in names]
    try:
        bytes(values)  # one C call checks every value is an int in 0..255
    except (ValueError, TypeError):
        bad = next(n for n, v in zip(names, values, strict=True) if v not in range(256))
        raise PduValueError(f"{bad} {getattr(pdu, bad)!r} does not fit one octet") from None


def _frame(command_id: int, status: int, sequence: int, body: bytes) -> bytes:
    if not 0 <= sequence <= sequence_wire_max or not 0 <= status <= 0xFFFFFFFF:
        raise PduValueError(f"sequence {sequence} or status {status} does not fit 32 bits")
    return _HEADER.pack(c.header_length + len(body), command_id, status, sequence) + body


@dataclass(frozen=True, slots=True, kw_only=True)
class BindRequest:
    kind: BindKind
    system_id: str
    password: str = ""
    system_type: str = ""
    interface_version: int = c.interface_version_34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""

    def __post_init__(self) -> None:
        if self.kind not in BIND_IDS:
            raise PduValueError(f"bind kind {self.kind!r} is not one of {sorted(BIND_IDS)}")
        _check_cstring(self.system_id, system_id_size_max, "system_id", c.ESME_RINVSYSID)
        _check_cstring(self.password, password_size_max, "password", c.ESME_RINVPASWD)
        _check_cstring(self.system_type, system_type_size_max, "system_type", c.ESME_RINVSYSTYP)
        _check_cstring(
            self.address_range, address_range_size_max, "address_range", c.ESME_RINVSRCADR
        )
        _check_octets(self, ("interface_version", "addr_ton", "addr_npi"))

    @property
    def command_id(self) -> int:
        return BIND_IDS[self.kind]

    def to_bytes(self, sequence: int, status: int = c.ESME_ROK) -> bytes:
        body = b"".join(
            (
                self.system_id.encode("latin-1"), _NUL,
                self.password.encode("latin-1"), _NUL,
                self.system_type.encode("latin-1"), _NUL,
                bytes((self.interface_version, self.addr_ton, self.addr_npi)),
                self.address_range.encode("latin-1"), _NUL,
            )
        )  # fmt: skip
        return _frame(self.command_id, status, sequence, body)


@dataclass(frozen=True, slots=True, kw_only=True)
class BindResponse:
    kind: BindKind
    system_id: str = ""
    sc_interface_version: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in BIND_IDS:
            raise PduValueError(f"bind kind {self.kind!r} is not one of {sorted(BIND_IDS)}")
        _check_cstring(self.system_id, system_id_size_max, "system_id", c.ESME_RINVSYSID)
        if self.sc_interface_version is not None and not 0 <= self.sc_interface_version <= 0xFF:
            raise PduValueError(f"sc_interface_version {self.sc_interface_version} is not 0..255")

    @property
    def command_id(self) -> int:
        return BIND_IDS[self.kind] | c.RESPONSE_BIT

    def to_bytes(self, sequence: int, status: int = c.ESME_ROK) -> bytes:
        body = self.system_id.encode("latin-1") + _NUL
        if self.sc_interface_version is not None:
            body += encode_tlvs((Tlv.u8(SC_INTERFACE_VERSION, self.sc_interface_version),))
        return _frame(self.command_id, status, sequence, body)


_SM_STRINGS: Final = (
    ("service_type", service_type_size_max, c.ESME_RINVSERTYP),
    ("source_addr", address_size_max, c.ESME_RINVSRCADR),
    ("destination_addr", address_size_max, c.ESME_RINVDSTADR),
    ("schedule_delivery_time", time_size_max, c.ESME_RINVSCHED),
    ("validity_period", time_size_max, c.ESME_RINVEXPIRY),
)
_SM_OCTETS: Final = (
    "source_addr_ton", "source_addr_npi", "dest_addr_ton", "dest_addr_npi", "esm_class",
    "protocol_id", "priority_flag", "registered_delivery", "replace_if_present_flag",
    "data_coding", "sm_default_msg_id",
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class ShortMessagePdu:
    """The body submit_sm and deliver_sm share (SMPP 3.4 4.4.1 and 4.6.1)."""

    command_id: ClassVar[int]
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0  # no receipt unless asked (aiosmpplib defaults to 1)
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: tuple[Tlv, ...] = ()

    def __post_init__(self) -> None:
        for name, size_max, status in _SM_STRINGS:
            _check_cstring(getattr(self, name), size_max, name, status)
        _check_octets(self, _SM_OCTETS)
        if not isinstance(self.short_message, bytes):
            raise PduValueError("short_message must be bytes")
        if len(self.short_message) > short_message_length_max:
            raise PduValueError(
                f"short_message is {len(self.short_message)} octets, over "
                f"{short_message_length_max}: use message_payload",
                command_status=c.ESME_RINVMSGLEN,
            )
        if type(self.tlvs) is not tuple or any(type(t) is not Tlv for t in self.tlvs):
            raise PduValueError("tlvs must be a tuple of Tlv")

    @property
    def payload(self) -> bytes:
        """message_payload when present, else short_message."""
        value = find_tlv(self.tlvs, MESSAGE_PAYLOAD)
        return self.short_message if value is None else value

    @property
    def ussd_service_op(self) -> int | None:
        value = find_tlv(self.tlvs, USSD_SERVICE_OP)
        return value[0] if value else None

    @property
    def its_session_info(self) -> ItsSessionInfo | None:
        value = find_tlv(self.tlvs, ITS_SESSION_INFO)
        return None if value is None else ItsSessionInfo.decode(value)

    @property
    def user_message_reference(self) -> int | None:
        return tlv_int(self.tlvs, USER_MESSAGE_REFERENCE)

    @property
    def is_receipt(self) -> bool:
        return bool(self.esm_class & ESM_CLASS_RECEIPT)

    def to_bytes(self, sequence: int, status: int = c.ESME_ROK) -> bytes:
        sm = self.short_message
        body = b"".join(
            (
                self.service_type.encode("latin-1"), _NUL,
                bytes((self.source_addr_ton, self.source_addr_npi)),
                self.source_addr.encode("latin-1"), _NUL,
                bytes((self.dest_addr_ton, self.dest_addr_npi)),
                self.destination_addr.encode("latin-1"), _NUL,
                bytes((self.esm_class, self.protocol_id, self.priority_flag)),
                self.schedule_delivery_time.encode("latin-1"), _NUL,
                self.validity_period.encode("latin-1"), _NUL,
                bytes((self.registered_delivery, self.replace_if_present_flag, self.data_coding,
                       self.sm_default_msg_id, len(sm))),
                sm,
                encode_tlvs(self.tlvs),
            )
        )  # fmt: skip
        return _frame(self.command_id, status, sequence, body)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSm(ShortMessagePdu):
    command_id: ClassVar[int] = c.SUBMIT_SM


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSm(ShortMessagePdu):
    command_id: ClassVar[int] = c.DELIVER_SM


@dataclass(frozen=True, slots=True)
class MessageIdResponse:
    """submit_sm_resp / deliver_sm_resp; on an error status the body may be absent."""

    command_id: ClassVar[int]
    message_id: str = ""

    def __post_init__(self) -> None:
        _check_cstring(self.message_id, message_id_size_max, "message_id", c.ESME_RINVMSGID)

    def to_bytes(self, sequence: int, status: int = c.ESME_ROK) -> bytes:
        return _frame(self.command_id, status, sequence, self.message_id.encode("latin-1") + _NUL)


@dataclass(frozen=True, slots=True)
class SubmitSmResp(MessageIdResponse):
    command_id: ClassVar[int] = c.SUBMIT_SM_RESP


@dataclass(frozen=True, slots=True)
class DeliverSmResp(MessageIdResponse):
    command_id: ClassVar[int] = c.DELIVER_SM_RESP


@dataclass(frozen=True, slots=True)
class EmptyPdu:
    """A PDU that is its header alone."""

    command_id: ClassVar[int]

    def to_bytes(self, sequence: int, status: int = c.ESME_ROK) -> bytes:
        return _frame(self.command_id, status, sequence, b"")


@dataclass(frozen=True, slots=True)
class EnquireLink(EmptyPdu):
    command_id: ClassVar[int] = c.ENQUIRE_LINK


@dataclass(frozen=True, slots=True)
class EnquireLinkResp(EmptyPdu):
    command_id: ClassVar[int] = c.ENQUIRE_LINK_RESP


@dataclass(frozen=True, slots=True)
class Unbind(EmptyPdu):
    command_id: ClassVar[int] = c.UNBIND


@dataclass(frozen=True, slots=True)
class UnbindResp(EmptyPdu):
    command_id: ClassVar[int] = c.UNBIND_RESP


@dataclass(frozen=True, slots=True)
class GenericNack(EmptyPdu):
    command_id: ClassVar[int] = c.GENERIC_NACK


@dataclass(frozen=True, slots=True)
class Outbind:
    command_id: ClassVar[int] = c.OUTBIND
    system_id: str
    password: str = ""

    def __post_init__(self) -> None:
        _check_cstring(self.system_id, system_id_size_max, "system_id", c.ESME_RINVSYSID)
        _check_cstring(self.password, password_size_max, "password", c.ESME_RINVPASWD)

    def to_bytes(self, sequence: int, status: int = c.ESME_ROK) -> bytes:
        body = self.system_id.encode("latin-1") + _NUL + self.password.encode("latin-1") + _NUL
        return _frame(self.command_id, status, sequence, body)


@dataclass(frozen=True, slots=True)
class UnknownPdu:
    """A command id this codec does not read: answer generic_nack ESME_RINVCMDID."""

    command_id: int
    status: int
    sequence: int
    body: bytes

    def to_bytes(self, sequence: int, status: int = c.ESME_ROK) -> bytes:
        return _frame(self.command_id, status, sequence, self.body)


Pdu = (
    BindRequest | BindResponse | SubmitSm | DeliverSm | SubmitSmResp | DeliverSmResp
    | EnquireLink | EnquireLinkResp | Unbind | UnbindResp | GenericNack | Outbind | UnknownPdu
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Frame:
    command_id: int
    status: int
    sequence: int
    pdu: Pdu
