"""SMSC delivery receipts: the customary text (SMPP 3.4 Appendix B) and the receipt TLVs.

`id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD
err:E text: . . .`, read case-insensitively and tolerant of missing fields; the
receipted_message_id and message_state TLVs win when present. esm_class bit 0x04 marks one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Final

from channels.smpp.constants import ESME_RINVMSGLEN
from channels.smpp.errors import PduError
from channels.smpp.pdu import ESM_CLASS_RECEIPT, DeliverSm
from channels.smpp.tlv import (
    MESSAGE_STATE,
    RECEIPTED_MESSAGE_ID,
    Tlv,
    tlv_cstring,
    tlv_int,
)

# message_state TLV values (SMPP 3.4 5.2.28) and the receipt text's stat: words.
MESSAGE_STATES: Final[Mapping[int, str]] = {
    1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 6: "ACCEPTD",
    7: "UNKNOWN", 8: "REJECTD",
}  # fmt: skip
_STATE_VALUES: Final = {name: value for value, name in MESSAGE_STATES.items()}
receipt_text_length_max: Final = 20  # the original text's first characters a receipt quotes
_FIELD: Final = re.compile(r"(?i)(?:^|\s)(id|sub|dlvrd|submit date|done date|stat|err):(\S*)")
_TEXT: Final = re.compile(r"(?is)(?:^|\s)text:(.*)$")


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    message_id: str
    state: str  # "DELIVRD", "UNDELIV", ... upper case
    error: str = ""
    submit_date: str = ""
    done_date: str = ""
    text: str = ""

    @property
    def delivered(self) -> bool:
        return self.state == "DELIVRD"

    def to_text(self) -> str:
        dlvrd = "001" if self.delivered else "000"
        return (
            f"id:{self.message_id} sub:001 dlvrd:{dlvrd} submit date:{self.submit_date} "
            f"done date:{self.done_date} stat:{self.state} err:{self.error or '000'} "
            f"text:{self.text[:receipt_text_length_max]}"
        )

    def to_deliver_sm(self, *, source_addr: str, destination_addr: str) -> DeliverSm:
        """The receipt an SMSC sends back to the submitter (for the emulator)."""
        tlvs = [Tlv.cstring(RECEIPTED_MESSAGE_ID, self.message_id)]
        state = _STATE_VALUES.get(self.state)
        if state is not None:
            tlvs.append(Tlv.u8(MESSAGE_STATE, state))
        return DeliverSm(
            source_addr=source_addr,
            destination_addr=destination_addr,
            esm_class=ESM_CLASS_RECEIPT,
            short_message=self.to_text().encode("latin-1", "replace"),
            tlvs=tuple(tlvs),
        )


def parse_receipt_text(text: str) -> DeliveryReceipt:
    """The customary receipt text; missing fields are empty, an absent id is a peer fault."""
    fields = {name.lower(): value for name, value in _FIELD.findall(text)}
    quoted = _TEXT.search(text)
    if "id" not in fields:
        raise PduError("a receipt without id:", command_status=ESME_RINVMSGLEN)
    return DeliveryReceipt(
        message_id=fields["id"],
        state=fields.get("stat", "").upper(),
        error=fields.get("err", ""),
        submit_date=fields.get("submit date", ""),
        done_date=fields.get("done date", ""),
        text=quoted.group(1).strip() if quoted else "",
    )


def parse_receipt(pdu: DeliverSm) -> DeliveryReceipt | None:
    """The receipt a deliver_sm carries, or None when esm_class does not mark one."""
    if not pdu.esm_class & ESM_CLASS_RECEIPT:
        return None
    message_id = tlv_cstring(pdu.tlvs, RECEIPTED_MESSAGE_ID)
    state = tlv_int(pdu.tlvs, MESSAGE_STATE)
    try:
        parsed = parse_receipt_text(pdu.payload.decode("latin-1"))
    except PduError:
        if message_id is None:
            raise
        parsed = DeliveryReceipt(message_id, "")
    return replace(
        parsed,
        message_id=parsed.message_id if message_id is None else message_id,
        state=parsed.state if state is None else MESSAGE_STATES.get(state, str(state)),
    )
