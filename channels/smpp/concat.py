"""Long messages: split MT texts into UDH parts, read UDH and SAR parts, reassemble MO (sans-IO).

Parts are keyed by (sender, reference, total): two phones may pick the same reference. They are
joined in part-number order (ints) once all have arrived, and the joined user data is decoded
only after that, so a UCS-2 surrogate pair split across parts still reads. The reassembler is
bounded (`messages_pending_max`, `parts_ttl_ms`, oldest evicted first) and takes the clock as an
argument. Split sizes agree with `dialogs.render.sms.sms_segments`: 160 septets or 70 UTF-16
units in one part, 153 / 67 per part once concatenated (the 6-octet UDH plus fill bits takes 7
septets), never splitting an escape pair or a surrogate pair.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Final, Literal

from channels.smpp.coding import encode_text
from channels.smpp.constants import ESME_RINVMSGLEN, ESME_RINVOPTPARAMVAL
from channels.smpp.errors import PduError, PduValueError
from channels.smpp.pdu import ESM_CLASS_UDHI, ShortMessagePdu
from channels.smpp.tlv import SAR_MSG_REF_NUM, SAR_SEGMENT_SEQNUM, SAR_TOTAL_SEGMENTS, tlv_int
from dialogs.render.sms import (
    septets_per_concatenated_part_max,
    septets_per_part_max,
    ucs2_units_per_concatenated_part_max,
    ucs2_units_per_part_max,
)

IEI_CONCAT_8BIT: Final = 0x00  # 3GPP TS 23.040 9.2.3.24.1
IEI_CONCAT_16BIT: Final = 0x08  # 9.2.3.24.8
messages_pending_max: Final = 10_000  # incomplete long messages held at once
parts_ttl_ms: Final = 5 * 60 * 1000  # a long message's parts must all arrive within this
parts_max: Final = 255  # the total is one octet in every form

ConcatForm = Literal["udh8", "udh16", "sar"]


class ConcatError(PduError):
    """A peer's concatenation header is malformed or inconsistent (peer's fault)."""


@dataclass(frozen=True, slots=True)
class ConcatInfo:
    reference: int
    total: int
    seq: int
    form: ConcatForm

    def __post_init__(self) -> None:
        if not 1 <= self.total <= parts_max or not 1 <= self.seq <= self.total:
            raise ConcatError(
                f"part {self.seq} of {self.total} ({self.form})",
                command_status=ESME_RINVOPTPARAMVAL if self.form == "sar" else ESME_RINVMSGLEN,
            )


def parse_udh(short_message: bytes) -> tuple[ConcatInfo | None, bytes]:
    """Concatenation info from a user-data header (other IEs skipped) and the user data after it."""
    if not short_message or 1 + short_message[0] > len(short_message):
        raise ConcatError("UDH length beyond the message", command_status=ESME_RINVMSGLEN)
    end = 1 + short_message[0]
    info = None
    pos = 1
    while pos < end:
        if pos + 2 > end or pos + 2 + short_message[pos + 1] > end:
            raise ConcatError("a UDH element runs past the header", command_status=ESME_RINVMSGLEN)
        iei, length = short_message[pos], short_message[pos + 1]
        data = short_message[pos + 2 : pos + 2 + length]
        if iei == IEI_CONCAT_8BIT and length == 3:
            info = ConcatInfo(data[0], data[1], data[2], "udh8")
        elif iei == IEI_CONCAT_16BIT and length == 4:
            info = ConcatInfo(int.from_bytes(data[:2], "big"), data[2], data[3], "udh16")
        pos += 2 + length
    return info, short_message[end:]


def concat_info(pdu: ShortMessagePdu) -> tuple[ConcatInfo | None, bytes]:
    """A part's concatenation info (UDH when UDHI is set, else SAR TLVs) and its user data."""
    if pdu.esm_class & ESM_CLASS_UDHI:
        return parse_udh(pdu.payload)
    reference = tlv_int(pdu.tlvs, SAR_MSG_REF_NUM)
    total = tlv_int(pdu.tlvs, SAR_TOTAL_SEGMENTS)
    seq = tlv_int(pdu.tlvs, SAR_SEGMENT_SEQNUM)
    if reference is None and total is None and seq is None:
        return None, pdu.payload
    if reference is None or total is None or seq is None:
        raise ConcatError("SAR needs all three TLVs", command_status=ESME_RINVOPTPARAMVAL)
    return ConcatInfo(reference, total, seq, "sar"), pdu.payload


@dataclass(frozen=True, slots=True)
class Part:
    """One MT part: `udh` (empty for a single part) then `user_data`."""

    seq: int
    total: int
    udh: bytes
    user_data: bytes

    @property
    def short_message(self) -> bytes:
        return self.udh + self.user_data

    @property
    def esm_class(self) -> int:
        """The UDHI bit to OR into esm_class."""
        return ESM_CLASS_UDHI if self.udh else 0


def split_text(text: str, codec: str, reference: int) -> list[Part]:
    """`text` in "gsm7" (unpacked) or "ucs2", one part or 8-bit-reference UDH parts."""
    if codec == "gsm7":
        single_max, part_max, octets_per_unit = (
            septets_per_part_max, septets_per_concatenated_part_max, 1
        )  # fmt: skip
    elif codec == "ucs2":
        single_max, part_max, octets_per_unit = (
            ucs2_units_per_part_max, ucs2_units_per_concatenated_part_max, 2
        )  # fmt: skip
    else:
        raise PduValueError(f"cannot split {codec!r} text (gsm7 or ucs2)")
    if not 0 <= reference <= 0xFF:
        raise PduValueError(f"reference {reference} does not fit one octet")
    encoded = encode_text(codec, text)
    if len(encoded) <= single_max * octets_per_unit:
        return [Part(1, 1, b"", encoded)]
    chunks = _chunks(text, codec, part_max * octets_per_unit)
    if len(chunks) > parts_max:
        raise PduValueError(f"{len(chunks)} parts is over {parts_max}")
    total = len(chunks)
    return [
        Part(seq, total, bytes((5, IEI_CONCAT_8BIT, 3, reference, total, seq)), chunk)
        for seq, chunk in enumerate(chunks, start=1)
    ]


def _chunks(text: str, codec: str, octets_max: int) -> list[bytes]:
    """Whole characters (an escape pair, a surrogate pair) packed greedily into parts."""
    chunks, current = [], bytearray()
    for char in text:
        unit = encode_text(codec, char)
        if len(current) + len(unit) > octets_max:
            chunks.append(bytes(current))
            current = bytearray()
        current += unit
    chunks.append(bytes(current))
    return chunks


@dataclass(slots=True)
class _Pending:
    first_ms: int
    parts: dict[int, bytes] = field(default_factory=dict)


class Reassembler:
    """Joins parts keyed by (sender, reference, total); bounded in count and in time."""

    __slots__ = ("_pending", "_pending_max", "_ttl_ms", "evicted", "expired")

    def __init__(
        self, *, pending_max: int = messages_pending_max, ttl_ms: int = parts_ttl_ms
    ) -> None:
        assert pending_max > 0, "the bounds are positive"
        assert ttl_ms > 0, "the bounds are positive"
        self._pending: OrderedDict[tuple[str, int, int], _Pending] = OrderedDict()
        self._pending_max = pending_max
        self._ttl_ms = ttl_ms
        self.evicted = 0  # messages dropped because too many were pending
        self.expired = 0  # messages dropped because their parts came too slowly

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, sender: str, info: ConcatInfo, user_data: bytes, now_ms: int) -> bytes | None:
        """The whole message's user data once its last part arrives, else None."""
        self.expire(now_ms)
        if info.total == 1:
            return user_data
        key = (sender, info.reference, info.total)
        pending = self._pending.get(key)
        if pending is None:
            if len(self._pending) >= self._pending_max:
                self._pending.popitem(last=False)
                self.evicted += 1
            pending = self._pending[key] = _Pending(now_ms)
        pending.parts.setdefault(info.seq, user_data)  # a duplicate part is ignored
        if len(pending.parts) < info.total:
            return None
        del self._pending[key]
        return b"".join(pending.parts[seq] for seq in range(1, info.total + 1))

    def expire(self, now_ms: int) -> int:
        """Drop messages whose first part is older than the TTL; how many were dropped."""
        dropped = 0
        while self._pending:
            key, pending = next(iter(self._pending.items()))
            if now_ms - pending.first_ms < self._ttl_ms:
                break
            del self._pending[key]
            dropped += 1
        self.expired += dropped
        return dropped
