"""How a one-time confirmation code reaches a subscriber: by SMS, through whatever SMS link
the composition root wires in. The ledger only asks for it to be sent."""

from __future__ import annotations

from typing import Protocol

from ledger.money import Msisdn


class CodeSender(Protocol):
    async def send_code(self, msisdn: Msisdn, code: str) -> None:
        """Deliver `code` to `msisdn`; the code must appear in no log."""
        ...


__all__ = ["CodeSender"]
