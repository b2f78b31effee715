"""The platform's SMS link as operations see it: what they need sent to a subscriber's or an
agent's handset, whatever SMS gateway the composition root wires in. Without one, the
operations that can only answer by SMS (a transfer's confirmation code, the history list) say
they are not available rather than promise a message that will not come."""

from __future__ import annotations

from typing import Protocol

from ledger.money import Msisdn


class SmsLink(Protocol):
    async def send_code(self, msisdn: Msisdn, code: str) -> None:
        """Deliver a one-time confirmation `code` to `msisdn`; the code appears in no log."""
        ...


__all__ = ["SmsLink"]
