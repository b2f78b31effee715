"""The JSON gateway profile: only the latest input, with an explicit session operation.

Request (`application/json`, UTF-8), in the manner of the common commercial gateways::

    {"sessionId": "gw-7f3a", "msisdn": "8613800000003", "serviceCode": "*123*1#",
     "operation": "begin", "input": "", "sequence": 1, "network": "46000"}

- `sessionId`, `msisdn`, `serviceCode`, `operation` are required strings.
- `operation`: `begin` (the dial; `serviceCode` is the dialled string and may carry shortcut
  inputs, `*123*1*13900000001#`), `continue` (`input` is what the user just typed; required),
  `end` / `abort` (the user left) or `timeout` (the network gave up): the session is closed.
- `sequence` (optional, integer ≥ 1): the gateway's request counter within the session,
  repeated unchanged when it retries; with it a retry is answered from the stored reply. A
  gateway that sends none gets every request taken as new.
- `network` (optional string) is accepted and not used.

Reply (`application/json`): `{"sessionId": …, "operation": "continue" | "end",
"message": "<page>"}`; to a close, `{"operation": "end", "message": ""}`. Errors: 400/401/403
with `{"error": "<reason>"}`.
"""

from __future__ import annotations

import json
from typing import Any, Final

from channels.ussd.profiles._reply import Reply, UssdGatewayReplyError
from channels.ussd.turn import TurnOp, UssdProtocolError, UssdTurn, parse_dialled

NAME: Final = "json"
CONTENT_TYPE: Final = "application/json"
body_bytes_max: Final = 4096
sequence_max: Final = 10**9
OPERATIONS: Final[dict[str, TurnOp]] = {
    "begin": "begin",
    "continue": "continue",
    "end": "abort",
    "abort": "abort",
    "timeout": "abort",
}
_JSON: Final = "application/json; charset=utf-8"


def _string(obj: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = obj.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        kind = "missing" if value is None else f"a {type(value).__name__}, not a string"
        raise UssdProtocolError(f"{name} is {kind}")
    return value


def parse_request(body: bytes) -> UssdTurn:
    if len(body) > body_bytes_max:
        raise UssdProtocolError(f"the body is longer than {body_bytes_max} bytes")
    try:
        obj = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise UssdProtocolError("the body is not JSON in UTF-8") from None
    if not isinstance(obj, dict):
        raise UssdProtocolError("the body is not a JSON object")
    session_id = _string(obj, "sessionId")
    msisdn = _string(obj, "msisdn")
    dialled = _string(obj, "serviceCode")
    operation = _string(obj, "operation")
    if operation not in OPERATIONS:
        raise UssdProtocolError(
            f"operation {operation!r} is not one of {', '.join(sorted(OPERATIONS))}"
        )
    op = OPERATIONS[operation]
    value = _string(obj, "input", required=op == "continue")
    _string(obj, "network", required=False)
    sequence = obj.get("sequence")
    if sequence is not None and (
        isinstance(sequence, bool)
        or not isinstance(sequence, int)
        or not 1 <= sequence <= sequence_max
    ):
        raise UssdProtocolError(f"sequence must be an integer 1..{sequence_max}")
    service_code, shortcuts = parse_dialled(dialled)
    if op == "begin":
        inputs = shortcuts
    elif op == "continue":
        inputs = (value,)
    else:
        inputs = ()
    retry_key = None if sequence is None else f"{sequence}\0{operation}\0{value}"
    return UssdTurn(session_id, msisdn, service_code, op, inputs, retry_key=retry_key)


def _dump(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def render_reply(turn: UssdTurn, text: str, end: bool) -> Reply:
    operation = "end" if end else "continue"
    return Reply(
        200, _JSON, _dump({"sessionId": turn.session_id, "operation": operation, "message": text})
    )


def render_error(status: int, reason: str) -> Reply:
    return Reply(status, _JSON, _dump({"error": reason}))


def encode_request(
    session_id: str,
    msisdn: str,
    service_code: str,
    operation: str,
    value: str = "",
    sequence: int | None = None,
) -> tuple[bytes, str]:
    """The gateway's JSON for one turn (`value`: the latest input only)."""
    obj: dict[str, Any] = {
        "sessionId": session_id,
        "msisdn": msisdn,
        "serviceCode": service_code,
        "operation": operation,
        "input": value,
    }
    if sequence is not None:
        obj["sequence"] = sequence
    return _dump(obj), CONTENT_TYPE


def decode_reply(status: int, body: bytes) -> tuple[str, bool]:
    """(page text, whether it ends the session) from the platform's answer."""
    try:
        obj = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise UssdGatewayReplyError(f"HTTP {status}: not JSON: {body[:60]!r}") from None
    if status != 200 or not isinstance(obj, dict):
        raise UssdGatewayReplyError(f"HTTP {status}: {obj}")
    operation, message = obj.get("operation"), obj.get("message")
    if operation not in ("continue", "end") or not isinstance(message, str):
        raise UssdGatewayReplyError(f"HTTP 200 but not a page: {obj}")
    return message, operation == "end"
