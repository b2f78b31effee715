"""The USSD gateway emulator: speaks a gateway profile to the platform's `/ussd/callback`."""

from simulator.ussd_gateway.emulator import Page, Session, SessionEnded, UssdGatewayEmulator

__all__ = ["Page", "Session", "SessionEnded", "UssdGatewayEmulator"]
