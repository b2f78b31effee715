"""Simulated handsets: MSISDN, message reference, bounded inbox; and how an MO becomes PDUs.

A handset keeps the last `inbox_max` MT messages and counts the rest, so a bench run of millions
stays in bounded memory. An MO is GSM 7-bit (data_coding 0x00, unpacked) when the text fits the
GSM alphabet, else UCS-2 (0x08); a long one is concatenated with a UDH, 8-bit reference by
default or 16-bit (IEI 0x08) on request. Every part carries the handset's message reference in
`user_message_reference`; the reference increments per MO, wrapping at 256 like a TP-MR.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Final

from channels.smpp.coding import CodingMap
from channels.smpp.concat import IEI_CONCAT_16BIT, Part, split_text
from channels.smpp.pdu import DeliverSm
from channels.smpp.tlv import USER_MESSAGE_REFERENCE, Tlv

inbox_max_default: Final = 100  # MT messages kept per handset; older ones are only counted
reference_modulus: Final = 256  # a handset's message reference is one octet (TP-MR)
_SMS_CODINGS: Final = CodingMap.sms()
TON_INTERNATIONAL: Final = 1
TON_NATIONAL: Final = 2
TON_ALPHANUMERIC: Final = 5
NPI_ISDN: Final = 1
short_code_length_max: Final = 8
concat16_first: Final = 0x1234  # above 255, so a reader of the wrong width shows at once


@dataclass(frozen=True, slots=True)
class InboxMessage:
    """One MT as the handset shows it (a long message reassembled)."""

    sender: str
    text: str
    data_coding: int
    parts: int
    message_id: str  # the last part's submit_sm_resp id


class Handset:
    """A phone (or a short code / alphanumeric sender) known to the SMSC by its address."""

    __slots__ = ("_concat16", "_reference", "inbox", "msisdn", "received_total")

    def __init__(self, msisdn: str, inbox_max: int = inbox_max_default) -> None:
        assert inbox_max > 0, "an inbox keeps at least one message"
        self.msisdn = msisdn
        self.inbox: deque[InboxMessage] = deque(maxlen=inbox_max)
        self.received_total = 0  # every MT, kept or not
        self._reference = 0
        self._concat16 = concat16_first

    def next_reference(self) -> int:
        reference = self._reference
        self._reference = (reference + 1) % reference_modulus
        return reference

    def next_concat16(self) -> int:
        """A 16-bit concatenation reference (only long MOs sent with `udh16` use one)."""
        reference = self._concat16
        self._concat16 = (reference + 1) % 0x10000
        return reference

    def receive(self, message: InboxMessage) -> None:
        self.inbox.append(message)
        self.received_total += 1

    @property
    def last(self) -> InboxMessage | None:
        return self.inbox[-1] if self.inbox else None


@dataclass(slots=True, eq=False)
class MoMessage:
    """An MO on its way: delivered once every part's deliver_sm_resp is ESME_ROK."""

    msisdn: str
    to: str
    text: str
    reference: int
    data_coding: int
    pdus: tuple[DeliverSm, ...]
    delivered: asyncio.Future[None]
    acked_parts: set[int] = field(default_factory=set)
    attempts: int = 0  # deliver_sm sent, re-deliveries included

    @property
    def parts(self) -> int:
        return len(self.pdus)


COUNTRY_CODE: Final = "86"
national_mobile_length: Final = 11  # 1xx xxxx xxxx


def international(address: str) -> str:
    """A handset's address as the network carries it: a national mobile number (`139…`, 11
    digits) gains the country code, `+` and spaces go; short codes and alphanumeric senders
    stay as they are. So `13900000001`, `+86 139 0000 0001` and `8613900000001` are one phone."""
    compact = address.replace(" ", "").removeprefix("+")
    if not compact.isdigit():
        return address
    if len(compact) == national_mobile_length and compact.startswith("1"):
        return COUNTRY_CODE + compact
    return compact


def address_ton_npi(address: str) -> tuple[int, int]:
    """Type of number for an address: international MSISDN, short code, alphanumeric."""
    if not address.isdigit():
        return TON_ALPHANUMERIC, 0
    if len(address) <= short_code_length_max:
        return TON_NATIONAL, NPI_ISDN
    return TON_INTERNATIONAL, NPI_ISDN


def mo_pdus(
    sender: str, to: str, text: str, reference: int, *, concat16: int | None = None
) -> tuple[int, tuple[DeliverSm, ...]]:
    """The data_coding and the deliver_sm parts for an MO (`concat16`: a 16-bit UDH reference)."""
    mt_coding = _SMS_CODINGS.choose_mt_coding(text)
    parts = split_text(text, mt_coding.codec, reference % 256)
    if concat16 is not None and len(parts) > 1:
        parts = [_udh16(part, concat16) for part in parts]
    source_ton, source_npi = address_ton_npi(sender)
    dest_ton, dest_npi = address_ton_npi(to)
    tlvs = (Tlv.u16(USER_MESSAGE_REFERENCE, reference),)
    pdus = tuple(
        DeliverSm(
            source_addr_ton=source_ton,
            source_addr_npi=source_npi,
            source_addr=sender,
            dest_addr_ton=dest_ton,
            dest_addr_npi=dest_npi,
            destination_addr=to,
            esm_class=part.esm_class,
            data_coding=mt_coding.data_coding,
            short_message=part.short_message,
            tlvs=tlvs,
        )
        for part in parts
    )
    return mt_coding.data_coding, pdus


def _udh16(part: Part, reference: int) -> Part:
    # The codec splits with 8-bit references only; the parts are rewritten here with IEI 0x08.
    # One octet more of header: over the air that is one septet less per part, which SMPP does
    # not see (short_message stays far under 254 octets).
    udh = bytes(
        (6, IEI_CONCAT_16BIT, 4, (reference >> 8) & 0xFF, reference & 0xFF, part.total, part.seq)
    )
    return Part(part.seq, part.total, udh, part.user_data)
