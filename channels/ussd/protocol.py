"""USSD over HTTP, the "Africa's Talking" form, as a sans-IO codec.

In: the POSTed form (`sessionId`, `serviceCode`, `phoneNumber`, `networkCode`, `text`, where
`text` is every input so far joined by `*`). Out: `CON <page>` to continue or `END <page>`
to close, as text/plain. No sockets, no clock: the transport and the service do those.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

session_id_length_max: Final = 128
text_length_max: Final = 1024  # far above any real USSD string (182 characters a page)
_SESSION_ID = re.compile(r"^[\x21-\x7e]+$")


class UssdProtocolError(Exception):
    """The gateway sent something this protocol does not allow (its fault): HTTP 400."""

    http_status = 400


@dataclass(frozen=True, slots=True)
class UssdRequest:
    session_id: str
    service_code: str
    phone_number: str
    network_code: str
    text: str

    def __post_init__(self) -> None:
        if not 0 < len(self.session_id) <= session_id_length_max or not _SESSION_ID.match(
            self.session_id
        ):
            raise UssdProtocolError(f"sessionId must be 1..{session_id_length_max} printable ASCII")
        if not self.service_code:
            raise UssdProtocolError("serviceCode is missing")
        if not self.phone_number:
            raise UssdProtocolError("phoneNumber is missing")
        if len(self.text) > text_length_max:
            raise UssdProtocolError(f"text is longer than {text_length_max} characters")


def parse_callback(form: Mapping[str, str]) -> UssdRequest:
    """Validate a callback form into a request; missing fields raise UssdProtocolError."""
    return UssdRequest(
        session_id=form.get("sessionId", "").strip(),
        service_code=form.get("serviceCode", "").strip(),
        phone_number=form.get("phoneNumber", "").strip(),
        network_code=form.get("networkCode", "").strip(),
        text=form.get("text", ""),
    )


def split_inputs(text: str) -> list[str]:
    """'' -> [], '1*13900000001' -> ['1', '13900000001']."""
    return text.split("*") if text else []


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
