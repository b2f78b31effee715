"""USSD over SMPP, sans-IO: a deliver_sm carrying ussd_service_op into a `UssdIndication`, and
a `UssdAnswer` into the submit_sm that answers it (ARCHITECTURE.md, "USSD").

- ussd_service_op 1 (PSSR indication) opens a session, 18 (USSR confirm) continues it;
- its_session_info with the end bit set is a user abort or a network time-out: `abort=True`,
  and nothing is answered. (That is the only abort form read today; a vendor's other form, e.g.
  a dedicated ussd_service_op, would be added to `is_abort` here.)
- the answer is a submit_sm with ussd_service_op 2 (USSR request) to continue or 17 (PSSR
  response) to end, its_session_info echoed (end bit set when ending), source_addr the service
  code from the indication, destination the subscriber, data_coding from the link's USSD
  coding map (0x0F GSM 7-bit when the text fits, else its UCS-2 value).
- the session key is its_session_info's session number when present, else the subscriber.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

from channels.smpp.coding import CodingMap
from channels.smpp.pdu import DeliverSm, SubmitSm, short_message_length_max
from channels.smpp.tlv import (
    MESSAGE_PAYLOAD,
    USSD_PSSR_INDICATION,
    USSD_PSSR_RESPONSE,
    USSD_SERVICE_OP,
    USSD_USSR_CONFIRM,
    USSD_USSR_REQUEST,
    ItsSessionInfo,
    Tlv,
)

USSD_OPENING_OPS: Final = frozenset({USSD_PSSR_INDICATION})
USSD_CONTINUING_OPS: Final = frozenset({USSD_USSR_CONFIRM})


@dataclass(frozen=True, slots=True)
class UssdIndication:
    """One subscriber input (or abort) on a USSD session carried over SMPP."""

    link: str
    msisdn: str  # the subscriber (source_addr)
    service_code: str  # destination_addr, e.g. "*123#"
    op: int  # ussd_service_op as received
    text: str
    session: ItsSessionInfo | None
    abort: bool  # the user or the network ended it; nothing is answered

    def __post_init__(self) -> None:
        if not self.msisdn:
            raise ValueError("a USSD indication needs the subscriber's number")

    @property
    def opens(self) -> bool:
        return self.op in USSD_OPENING_OPS and not self.abort

    @property
    def session_key(self) -> str:
        """its_session_info's session number when present, else the subscriber's number."""
        if self.session is not None:
            return f"{self.link}:its:{self.msisdn}:{self.session.session}"
        return f"{self.link}:msisdn:{self.msisdn}"


@dataclass(frozen=True, slots=True)
class UssdAnswer:
    text: str
    end: bool  # True: PSSR response, the session ends; False: USSR request, it continues


class UssdHandler(Protocol):
    async def handle(self, indication: UssdIndication) -> UssdAnswer | None: ...


def is_ussd(pdu: DeliverSm) -> bool:
    return any(tlv.tag == USSD_SERVICE_OP for tlv in pdu.tlvs)


def is_abort(pdu: DeliverSm, session: ItsSessionInfo | None) -> bool:
    return session is not None and session.end


def indication(link: str, pdu: DeliverSm, codings: CodingMap) -> UssdIndication:
    """The indication a USSD deliver_sm carries; raises `CodingError` on undecodable text and
    `PduError` (`PduValueError`) on a malformed its_session_info."""
    session = pdu.its_session_info
    op = pdu.ussd_service_op
    abort = is_abort(pdu, session)
    text = "" if abort and not pdu.payload else codings.decode(pdu.data_coding, pdu.payload)
    return UssdIndication(
        link=link, msisdn=pdu.source_addr, service_code=pdu.destination_addr,
        op=-1 if op is None else op, text=text, session=session, abort=abort,
    )  # fmt: skip


def answer_submit(
    indication: UssdIndication, answer: UssdAnswer, codings: CodingMap, *, source_ton: int = 0,
    dest_ton: int = 1, dest_npi: int = 1,
) -> SubmitSm:  # fmt: skip
    """The submit_sm that answers `indication` with `answer`."""
    coding = codings.choose_mt_coding(answer.text)
    data = codings.encode(coding.data_coding, answer.text)
    op = USSD_PSSR_RESPONSE if answer.end else USSD_USSR_REQUEST
    tlvs = [Tlv.u8(USSD_SERVICE_OP, op)]
    if indication.session is not None:
        echoed = ItsSessionInfo(indication.session.session, indication.session.sequence, answer.end)
        tlvs.append(echoed.to_tlv())
    short_message = data
    if len(data) > short_message_length_max:
        tlvs.append(Tlv(MESSAGE_PAYLOAD, data))
        short_message = b""
    return SubmitSm(
        source_addr_ton=source_ton, source_addr=indication.service_code, dest_addr_ton=dest_ton,
        dest_addr_npi=dest_npi, destination_addr=indication.msisdn,
        data_coding=coding.data_coding, short_message=short_message, tlvs=tuple(tlvs),
    )  # fmt: skip


__all__ = [
    "USSD_CONTINUING_OPS",
    "USSD_OPENING_OPS",
    "UssdAnswer",
    "UssdHandler",
    "UssdIndication",
    "answer_submit",
    "indication",
    "is_abort",
    "is_ussd",
]
