"""SMPP 3.4 for SMS and USSD links: our own small sans-IO codec.

Decision: we own this codec rather than build on aiosmpplib (0.7.4), because its defects sit in
its codec and its ESME alike (docs/sms.md; the project notes on SMPP 3.4),
and patching around them would mean re-parsing every PDU anyway. Each defect, and how this
package avoids it:

1. Closed enums drop the link. A vendor command_status (0x401) in a response raises, and a
   deliver_sm with data_coding 0x0F (USSD), 0x11 or 0xF0..0xFF is answered with generic_nack.
   Here command ids, statuses and data_coding are plain ints end to end (`constants`,
   `status_name`); an unknown command id decodes to `UnknownPdu`; the PDU layer never looks at
   data_coding, and text decoding (`coding.CodingMap`, per link) can only raise `CodingError`.
2. TLV values treated as text: a binary byte >= 0x80 fails and ussd_service_op 0x81 cannot be
   sent. Here `Tlv.value` is always bytes, unknown tags are kept and re-encoded verbatim, and
   typed readers (`ussd_service_op`, `ItsSessionInfo`) interpret values only when asked.
3. 16-bit-reference UDH (IEI 0x08) decoded with the wrong width. `concat.parse_udh` reads the
   reference as two big-endian octets.
4. Parts keyed by reference only, joined in string order. `concat.Reassembler` keys parts by
   (sender, reference, total), joins them in integer order, is bounded in count and age, and
   decodes text only after joining (a UCS-2 pair split across parts still reads).
5. SAR splitting crashes. SAR TLVs are read as a concatenation form (`concat.concat_info`); we
   split MT with UDH only (`concat.split_text`), which every SMSC we target accepts.
6. registered_delivery defaults to 1 (a receipt for every message). Ours defaults to 0.
7. O(n) correlator and no window. The codec holds no correlation state; the ESME built on it
   keeps a dict by sequence number and a named window (messages in flight) limit.

Modules: `constants` (ids, statuses), `errors`, `tlv`, `pdu` (dataclasses, `decode`, `Framer`),
`coding`, `concat`, `receipt`. None of them imports asyncio, socket, aiohttp, sqlalchemy or
ledger (an import-linter contract in pyproject.toml); the transport loop lives elsewhere.
"""

from __future__ import annotations

from channels.smpp.coding import CodingMap, MtCoding, decode_text, encode_text
from channels.smpp.concat import ConcatError, ConcatInfo, Part, Reassembler, concat_info, split_text
from channels.smpp.constants import command_name, status_name
from channels.smpp.errors import (
    CodingError,
    PduError,
    PduValueError,
    SmppError,
    UndecodableText,
    UnencodableText,
    UnknownCoding,
)
from channels.smpp.pdu import (
    BindRequest,
    BindResponse,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    Frame,
    Framer,
    GenericNack,
    Outbind,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    UnknownPdu,
    decode,
    encode,
)
from channels.smpp.receipt import DeliveryReceipt, parse_receipt, parse_receipt_text
from channels.smpp.tlv import ItsSessionInfo, Tlv

__all__ = [
    "BindRequest",
    "BindResponse",
    "CodingError",
    "CodingMap",
    "ConcatError",
    "ConcatInfo",
    "DeliverSm",
    "DeliverSmResp",
    "DeliveryReceipt",
    "EnquireLink",
    "EnquireLinkResp",
    "Frame",
    "Framer",
    "GenericNack",
    "ItsSessionInfo",
    "MtCoding",
    "Outbind",
    "Part",
    "Pdu",
    "PduError",
    "PduValueError",
    "Reassembler",
    "SmppError",
    "SubmitSm",
    "SubmitSmResp",
    "Tlv",
    "Unbind",
    "UnbindResp",
    "UndecodableText",
    "UnencodableText",
    "UnknownCoding",
    "UnknownPdu",
    "command_name",
    "concat_info",
    "decode",
    "decode_text",
    "encode",
    "encode_text",
    "parse_receipt",
    "parse_receipt_text",
    "split_text",
    "status_name",
]
