"""The "Africa's Talking" profile (the default): a form in, `CON …` / `END …` text/plain out.

Request: `POST` `application/x-www-form-urlencoded` with `sessionId`, `serviceCode`,
`phoneNumber`, `networkCode` and `text` (every input since the dial joined by `*`; empty on
the dial). The cumulative `text` is the turn's inputs and its retry identity.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlencode

from channels.ussd.profiles._reply import Reply, UssdGatewayReplyError
from channels.ussd.protocol import format_reply, parse_form
from channels.ussd.turn import UssdTurn

NAME: Final = "africastalking"
CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
_TEXT: Final = "text/plain; charset=utf-8"


def parse_request(body: bytes) -> UssdTurn:
    return parse_form(body).turn()


def render_reply(turn: UssdTurn, text: str, end: bool) -> Reply:
    return Reply(200, _TEXT, format_reply(text, end).encode())


def render_error(status: int, reason: str) -> Reply:
    prefix = {400: "bad request", 401: "unauthorized", 403: "forbidden"}.get(status, "error")
    return Reply(status, _TEXT, f"{prefix}: {reason}".encode())


def encode_request(
    session_id: str, msisdn: str, service_code: str, text: str, network_code: str = "46000"
) -> tuple[bytes, str]:
    """The gateway's form for one turn (`text` cumulative)."""
    form = {
        "sessionId": session_id,
        "serviceCode": service_code,
        "phoneNumber": msisdn,
        "networkCode": network_code,
        "text": text,
    }
    return urlencode(form).encode(), CONTENT_TYPE


def decode_reply(status: int, body: bytes) -> tuple[str, bool]:
    """(page text, whether it ends the session) from the platform's answer."""
    text = body.decode("utf-8", errors="replace")
    if status != 200:
        raise UssdGatewayReplyError(f"HTTP {status}: {text}")
    for prefix, end in (("CON ", False), ("END ", True)):
        if text.startswith(prefix):
            return text[len(prefix) :], end
    if text in ("CON", "END"):
        return "", text == "END"
    raise UssdGatewayReplyError(f"HTTP 200 without CON/END: {text[:40]!r}")
