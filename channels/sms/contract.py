"""The protocol-neutral SMS contract between a link (SMPP today; CMPP, SGIP, SMGP later) and
the SMS channel's service.

A link reassembles and decodes an MO, hands it to an `SmsReceiver` and acknowledges it to the
SMSC only once `accept` returns (the MO is durable by then); the outbox hands MTs to an
`SmsTransport`, which answers `Submitted` or `SubmitFailed`. Sans-IO: plain data and
protocols, no asyncio, no sockets, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

TON_ALPHANUMERIC: Final = 5  # SMPP type of number of an alphanumeric sender


@dataclass(frozen=True, slots=True)
class InboundSms:
    """One MO, reassembled and decoded by the link."""

    link: str  # configured link name, e.g. "smsc"
    sender: str  # source_addr as received (digits, or alphanumeric)
    sender_ton: int  # SMPP type of number (5 = alphanumeric)
    recipient: str  # destination_addr (our service number, e.g. "1888")
    text: str
    reference: int | None  # the handset's message reference (user_message_reference) if any
    received_ms: int


@dataclass(frozen=True, slots=True)
class OutboundSms:
    """One MT as the outbox hands it to a link."""

    id: int  # outbox row id
    recipient: str  # E.164 digits without '+'
    text: str
    receipt: bool  # ask the SMSC for a delivery receipt


@dataclass(frozen=True, slots=True)
class Submitted:
    """The SMSC took it: one message id per part."""

    message_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SubmitFailed:
    reason: str  # e.g. "0x00000045 submit failed"
    temporary: bool  # try again later (link down, throttled too long) vs. never


class SmsTransport(Protocol):
    """Implemented by a link (channels/smpp)."""

    async def submit(self, message: OutboundSms) -> Submitted | SubmitFailed: ...


class SmsReceiver(Protocol):
    """Implemented by the SMS channel's service; called by a link."""

    async def accept(self, message: InboundSms) -> None:
        """Returns once the MO is stored durably; the link acknowledges it only then
        (deliver_sm_resp). Processing happens after, never before the ack is due."""
        ...

    async def receipt(self, message_id: str, state: str, error: str | None) -> None:
        """A delivery receipt: state DELIVRD, UNDELIV, EXPIRED, REJECTD, ..."""
        ...


__all__ = [
    "TON_ALPHANUMERIC",
    "InboundSms",
    "OutboundSms",
    "SmsReceiver",
    "SmsTransport",
    "SubmitFailed",
    "Submitted",
]
