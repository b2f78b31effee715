"""The USSD gateway emulator: speaks a gateway profile to the platform's `/ussd/callback`
(`UssdGatewayEmulator`), or carries sessions over SMPP through the SMSC emulator
(`SmppUssdGateway`), with one handset-side API."""

from simulator.ussd_gateway.emulator import Page, Session, SessionEnded, UssdGatewayEmulator
from simulator.ussd_gateway.smpp import SmppSession, SmppUssdGateway

__all__ = [
    "Page",
    "Session",
    "SessionEnded",
    "SmppSession",
    "SmppUssdGateway",
    "UssdGatewayEmulator",
]
