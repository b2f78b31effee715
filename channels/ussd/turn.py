"""One USSD turn, whatever carried it: the neutral input of `UssdService.handle_turn`.

Every gateway profile (the Africa's Talking form, the JSON gateway, and SMPP's
`ussd_service_op`) turns its wire form into a `UssdTurn` and the service's page back into its
reply. Sans-IO: no sockets, no clock, no asyncio.

- `op="begin"`: the subscriber dialled; `inputs` are the shortcut inputs of the dialled string
  (`*123*1*13900000001#` -> `("1", "13900000001")`, see `parse_dialled`).
- `op="continue"`: `inputs` are the inputs this turn brings — only the latest (SMPP, JSON), or,
  with `cumulative=True`, every input since the dial (Africa's Talking `text`), of which the
  service feeds only those not yet consumed.
- `op="abort"`: the user or the network closed the session; it is stored as ended and the
  answer is an empty END that no gateway needs to deliver.

`retry_key` identifies the request within its session for retry detection: a turn whose
`retry_key` equals the last one stored is answered with the stored page and runs nothing.
`None` means the gateway gives no such identity: every turn is then taken as new.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, get_args

TurnOp = Literal["begin", "continue", "abort"]
TURN_OPS: Final[tuple[str, ...]] = get_args(TurnOp)

session_id_length_max: Final = 128
input_length_max: Final = 182  # one input is at most what a handset can send in one page
inputs_per_turn_max: Final = 128  # a shortcut or a cumulative text holds at most this many
retry_key_length_max: Final = 1100  # a whole cumulative text (1024) and a little more
_SESSION_ID: Final = re.compile(r"^[\x21-\x7e]+$")
_DIALLED: Final = re.compile(r"^\*([0-9]+)((?:\*[^*#]*)*)#$")


class UssdProtocolError(Exception):
    """The gateway sent something this protocol does not allow (its fault): HTTP 400."""

    http_status = 400


@dataclass(frozen=True, slots=True)
class UssdTurn:
    """One request of a USSD session, validated in its constructor."""

    session_id: str
    msisdn: str  # as the gateway wrote it; the service normalises it to E.164
    service_code: str  # e.g. "*123#" (no shortcut inputs: those are in `inputs`)
    op: TurnOp
    inputs: tuple[str, ...] = ()
    cumulative: bool = False  # `inputs` holds every input since the dial, not just new ones
    retry_key: str | None = None

    def __post_init__(self) -> None:
        if not 0 < len(self.session_id) <= session_id_length_max or not _SESSION_ID.match(
            self.session_id
        ):
            raise UssdProtocolError(f"sessionId must be 1..{session_id_length_max} printable ASCII")
        if not self.service_code:
            raise UssdProtocolError("serviceCode is missing")
        if not self.msisdn:
            raise UssdProtocolError("the phone number is missing")
        if self.op not in TURN_OPS:
            raise UssdProtocolError(f"unknown operation {self.op!r}")
        if len(self.inputs) > inputs_per_turn_max:
            raise UssdProtocolError(f"more than {inputs_per_turn_max} inputs in one request")
        if any(len(value) > input_length_max for value in self.inputs):
            raise UssdProtocolError(f"an input is longer than {input_length_max} characters")
        if self.retry_key is not None and len(self.retry_key) > retry_key_length_max:
            raise UssdProtocolError("the request identity is too long")

    @property
    def text(self) -> str:
        """The inputs joined by `*`, as the Africa's Talking form writes them."""
        return "*".join(self.inputs)


def parse_dialled(dialled: str) -> tuple[str, tuple[str, ...]]:
    """A dialled USSD string as (service code, shortcut inputs).

    `*123#` -> ("*123#", ()); `*123*1*13900000001#` -> ("*123#", ("1", "13900000001")).
    Anything else (no leading `*`, no trailing `#`, a service code that is not digits) raises
    UssdProtocolError.
    """
    match = _DIALLED.match(dialled.strip())
    if match is None:
        raise UssdProtocolError(f"{dialled!r} is not a USSD string like *123# or *123*1#")
    service_code = f"*{match[1]}#"
    rest = match[2]
    inputs = tuple(rest[1:].split("*")) if rest else ()
    if len(inputs) > inputs_per_turn_max:
        raise UssdProtocolError(f"more than {inputs_per_turn_max} inputs in one request")
    return service_code, inputs


def split_inputs(text: str) -> tuple[str, ...]:
    """'' -> (), '1*13900000001' -> ('1', '13900000001')."""
    return tuple(text.split("*")) if text else ()
