"""The USSD gateway over SMPP: the same handset-side API as `UssdGatewayEmulator`, with the
sessions carried by the SMSC emulator's USSD centre (deliver_sm with `ussd_service_op`) to
the platform bound to it. For tests and the terminal simulator, so one script can walk a menu
over any gateway.

    gateway = SmppUssdGateway(smsc)
    session = await gateway.dial("13800000003", "*123#")
    page = await session.reply("1")
    await session.abort()
"""

from __future__ import annotations

from typing import Final

from simulator.smsc import Smsc
from simulator.smsc.ussd import UssdSession
from simulator.ussd_gateway.emulator import Page, SessionEnded

page_wait_s: Final = 10.0  # the platform's page after a dial or an answer


class SmppUssdGateway:
    def __init__(self, smsc: Smsc, wait_s: float = page_wait_s) -> None:
        self._smsc = smsc
        self._wait_s = wait_s

    async def dial(self, msisdn: str, ussd_string: str) -> SmppSession:
        """Open a session as `msisdn` dialling `ussd_string` (shortcuts allowed)."""
        session = SmppSession(self._smsc.dial(msisdn, ussd_string), self._wait_s)
        await session.next_page()
        return session


class SmppSession:
    """One USSD session over SMPP; `page` is the last page received."""

    def __init__(self, session: UssdSession, wait_s: float) -> None:
        self._session = session
        self._wait_s = wait_s
        self.page = Page("", end=False)

    @property
    def ended(self) -> bool:
        return self.page.end

    async def next_page(self) -> Page:
        shown = await self._session.next_page(self._wait_s)
        self.page = Page(shown.text, shown.final)
        return self.page

    async def reply(self, text: str) -> Page:
        """Send what the user typed; answers the next page."""
        if self.ended:
            raise SessionEnded("the USSD session has ended")
        self._session.reply(text)
        return await self.next_page()

    async def abort(self) -> None:
        """The user leaves: the network tells the platform (its_session_info end bit)."""
        if not self.ended:
            self._session.abort()
            self.page = Page(self.page.text, end=True)


__all__ = ["SmppSession", "SmppUssdGateway"]
