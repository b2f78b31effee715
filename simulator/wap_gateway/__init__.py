"""The WAP gateway emulator: an HTTP proxy in front of the platform's `/wap/` that adds the
caller's number header, one loopback listener (bearer) per attached handset (`WapGateway`)."""

from simulator.wap_gateway.gateway import (
    ENRICHMENT_HEADERS,
    MSISDN_HEADER,
    SPOOFABLE_HEADERS,
    UP_CALLING_LINE_ID_HEADER,
    Bearer,
    GatewayError,
    WapGateway,
)

__all__ = [
    "ENRICHMENT_HEADERS",
    "MSISDN_HEADER",
    "SPOOFABLE_HEADERS",
    "UP_CALLING_LINE_ID_HEADER",
    "Bearer",
    "GatewayError",
    "WapGateway",
]
