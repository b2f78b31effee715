"""USSD over SMPP through the same session handling as the HTTP gateways: an SMPP link's
`UssdIndication` becomes a `UssdTurn` for `UssdService.handle_turn`, the page an `UssdAnswer`.

- ussd_service_op 1 (PSSR indication) begins a session; its text is the dialled string
  (`*123#`, or `*123*1*13900000001#` with shortcut inputs), or empty, when the service code
  travels only in destination_addr;
- 18 (USSR confirm) continues it with the subscriber's latest input;
- an abort (user or network time-out) closes it and is not answered.

The session id is the link's session key (its_session_info's number when present, else the
subscriber), so it is the same for every indication of one dial; a new dial that reuses a
wrapped session number is a new `begin`, which the service keeps apart from the old one.
A request the USSD core refuses (say, an unknown service code) is answered with the
"service unavailable" page and ends the session, so the handset is never left waiting.
"""

from __future__ import annotations

import logging
from typing import Final

from channels.smpp.ussd import UssdAnswer, UssdIndication
from channels.ussd.protocol import UssdProtocolError
from channels.ussd.service import UssdService
from channels.ussd.turn import UssdTurn, parse_dialled

log = logging.getLogger(__name__)

DIALLED_PREFIX: Final = "*"


class UssdOverSmpp:
    """Implements `channels.smpp.ussd.UssdHandler` on a `UssdService`."""

    def __init__(self, service: UssdService, unavailable_text: str) -> None:
        self._service = service
        self._unavailable = unavailable_text

    async def handle(self, indication: UssdIndication) -> UssdAnswer | None:
        try:
            turn = self._turn(indication)
            page = await self._service.handle_turn(turn)
        except UssdProtocolError as exc:
            log.warning("USSD over SMPP from %s refused: %s", indication.msisdn, exc)
            return None if indication.abort else UssdAnswer(self._unavailable, end=True)
        if indication.abort:
            return None
        return UssdAnswer(page.text, end=page.end)

    @staticmethod
    def _turn(indication: UssdIndication) -> UssdTurn:
        session_id = indication.session_key
        if indication.abort:
            return UssdTurn(session_id, indication.msisdn, indication.service_code, "abort")
        if indication.opens:
            dialled = indication.text.strip()
            if not dialled.startswith(DIALLED_PREFIX):
                dialled = indication.service_code
            service_code, inputs = parse_dialled(dialled)
            return UssdTurn(session_id, indication.msisdn, service_code, "begin", inputs)
        text = indication.text.strip()
        return UssdTurn(session_id, indication.msisdn, indication.service_code, "continue", (text,))


__all__ = ["UssdOverSmpp"]
