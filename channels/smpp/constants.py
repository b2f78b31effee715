"""SMPP 3.4 command ids and command_status values, as plain ints.

Never a closed enum: a vendor status (0x400..0x4FF) or a command id we do not know must decode
and be answered (generic_nack ESME_RINVCMDID), not raise while the link is being read.
`status_name` names a status for logs and errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

header_length: Final = 16  # command_length, command_id, command_status, sequence_number
interface_version_34: Final = 0x34
sequence_max: Final = 0x7FFFFFFF  # SMPP 3.4 5.1.4: 0x00000001..0x7FFFFFFF

# SMPP 3.4 5.1.2.1 command ids. A response is its request with bit 31 set.
RESPONSE_BIT: Final = 0x80000000
GENERIC_NACK: Final = 0x80000000
BIND_RECEIVER: Final = 0x00000001
BIND_RECEIVER_RESP: Final = 0x80000001
BIND_TRANSMITTER: Final = 0x00000002
BIND_TRANSMITTER_RESP: Final = 0x80000002
QUERY_SM: Final = 0x00000003
SUBMIT_SM: Final = 0x00000004
SUBMIT_SM_RESP: Final = 0x80000004
DELIVER_SM: Final = 0x00000005
DELIVER_SM_RESP: Final = 0x80000005
UNBIND: Final = 0x00000006
UNBIND_RESP: Final = 0x80000006
BIND_TRANSCEIVER: Final = 0x00000009
BIND_TRANSCEIVER_RESP: Final = 0x80000009
OUTBIND: Final = 0x0000000B
ENQUIRE_LINK: Final = 0x00000015
ENQUIRE_LINK_RESP: Final = 0x80000015
DATA_SM: Final = 0x00000103
DATA_SM_RESP: Final = 0x80000103

# SMPP 3.4 5.1.3 command_status (ESME_RINVDCS is SMPP 5.0's, used by some 3.4 SMSCs).
ESME_ROK: Final = 0x00000000
ESME_RINVMSGLEN: Final = 0x00000001
ESME_RINVCMDLEN: Final = 0x00000002
ESME_RINVCMDID: Final = 0x00000003
ESME_RINVBNDSTS: Final = 0x00000004
ESME_RALYBND: Final = 0x00000005
ESME_RINVPRTFLG: Final = 0x00000006
ESME_RINVREGDLVFLG: Final = 0x00000007
ESME_RSYSERR: Final = 0x00000008
ESME_RINVSRCADR: Final = 0x0000000A
ESME_RINVDSTADR: Final = 0x0000000B
ESME_RINVMSGID: Final = 0x0000000C
ESME_RBINDFAIL: Final = 0x0000000D
ESME_RINVPASWD: Final = 0x0000000E
ESME_RINVSYSID: Final = 0x0000000F
ESME_RMSGQFUL: Final = 0x00000014
ESME_RINVSERTYP: Final = 0x00000015
ESME_RINVESMCLASS: Final = 0x00000043
ESME_RSUBMITFAIL: Final = 0x00000045
ESME_RINVSYSTYP: Final = 0x00000053
ESME_RTHROTTLED: Final = 0x00000058
ESME_RINVSCHED: Final = 0x00000061
ESME_RINVEXPIRY: Final = 0x00000062
ESME_RX_T_APPN: Final = 0x00000064
ESME_RX_P_APPN: Final = 0x00000065
ESME_RX_R_APPN: Final = 0x00000066
ESME_RINVOPTPARSTREAM: Final = 0x000000C0
ESME_ROPTPARNOTALLWD: Final = 0x000000C1
ESME_RINVPARLEN: Final = 0x000000C2
ESME_RMISSINGOPTPARAM: Final = 0x000000C3
ESME_RINVOPTPARAMVAL: Final = 0x000000C4
ESME_RDELIVERYFAILURE: Final = 0x000000FE
ESME_RUNKNOWNERR: Final = 0x000000FF
ESME_RINVDCS: Final = 0x00000104

STATUS_NAMES: Final[Mapping[int, str]] = {
    value: name
    for name, value in sorted(globals().items())
    if name.startswith("ESME_") and isinstance(value, int)
}
COMMAND_NAMES: Final[Mapping[int, str]] = {
    value: name.lower()
    for name, value in sorted(globals().items())
    if name.isupper()
    and isinstance(value, int)
    and name != "RESPONSE_BIT"
    and not name.startswith("ESME_")
}
_vendor_status_min: Final = 0x400
_vendor_status_max: Final = 0x4FF


def status_name(code: int) -> str:
    """'ESME_RTHROTTLED (0x00000058)', '0x00000401 (vendor)', '0x00000070 (reserved)'."""
    name = STATUS_NAMES.get(code)
    if name is not None:
        return f"{name} (0x{code:08X})"
    kind = "vendor" if _vendor_status_min <= code <= _vendor_status_max else "reserved"
    return f"0x{code:08X} ({kind})"


def command_name(command_id: int) -> str:
    """'submit_sm', or '0x00000042 (unknown)'."""
    return COMMAND_NAMES.get(command_id, f"0x{command_id:08X} (unknown)")


def response_id(command_id: int) -> int:
    """The command id answering `command_id` (generic_nack has none: it is its own)."""
    return command_id | RESPONSE_BIT


def is_response(command_id: int) -> bool:
    return bool(command_id & RESPONSE_BIT)
