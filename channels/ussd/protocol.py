"""USSD over HTTP, the "Africa's Talking" form, as a sans-IO codec.

In: the POSTed form (`sessionId`, `serviceCode`, `phoneNumber`, `networkCode`, `text`, where
`text` is every input so far joined by `*`). Out: `CON <page>` to continue or `END <page>`
to close, as text/plain. No sockets, no clock: the transport and the service do those.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl

from channels.ussd import turn as _turn
from channels.ussd.turn import UssdProtocolError, UssdTurn

__all__ = [
    "UssdProtocolError",
    "UssdRequest",
    "format_reply",
    "new_inputs",
    "parse_callback",
    "parse_form",
    "split_inputs",
    "to_turn",
]

text_length_max: Final = 1024  # far above any real USSD string (182 characters a page)
form_bytes_max: Final = 4096


@dataclass(frozen=True, slots=True)
class UssdRequest:
    session_id: str
    service_code: str
    phone_number: str
    network_code: str
    text: str

    def __post_init__(self) -> None:
        if len(self.text) > text_length_max:
            raise UssdProtocolError(f"text is longer than {text_length_max} characters")
        self.turn()  # validates the session id, service code and number

    def turn(self) -> UssdTurn:
        """The neutral turn: `text` is cumulative, and is itself the retry identity."""
        return UssdTurn(
            session_id=self.session_id,
            msisdn=self.phone_number,
            service_code=self.service_code,
            op="continue" if self.text else "begin",
            inputs=_turn.split_inputs(self.text),
            cumulative=True,
            retry_key=self.text,
        )


def parse_callback(form: Mapping[str, str]) -> UssdRequest:
    """Validate a callback form into a request; missing fields raise UssdProtocolError."""
    if not form.get("phoneNumber", "").strip():
        raise UssdProtocolError("phoneNumber is missing")
    return UssdRequest(
        session_id=form.get("sessionId", "").strip(),
        service_code=form.get("serviceCode", "").strip(),
        phone_number=form.get("phoneNumber", "").strip(),
        network_code=form.get("networkCode", "").strip(),
        text=form.get("text", ""),
    )


def parse_form(body: bytes) -> UssdRequest:
    """An `application/x-www-form-urlencoded` body (UTF-8) into a request."""
    if len(body) > form_bytes_max:
        raise UssdProtocolError(f"the body is longer than {form_bytes_max} bytes")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise UssdProtocolError("the body is not a form in UTF-8") from None
    return parse_callback(dict(pairs))


def to_turn(form: Mapping[str, str]) -> UssdTurn:
    return parse_callback(form).turn()


def split_inputs(text: str) -> list[str]:
    """'' -> [], '1*13900000001' -> ['1', '13900000001']."""
    return list(_turn.split_inputs(text))


def new_inputs(text: str, consumed: int) -> list[str]:
    """The inputs of `text` not yet fed, given how many were.

    Gateways that resend only the latest entry (not the whole history) give a text with
    fewer parts than already consumed: then the whole text is the one new input.
    """
    parts = split_inputs(text)
    if len(parts) > consumed:
        return parts[consumed:]
    return [text]


def format_reply(text: str, end: bool) -> str:
    return ("END " if end else "CON ") + text
