"""Link security shared by the channels: is a peer's address in an allow-list of networks?

USSD gateways, Asterisk servers and WAP gateways are trusted by address (ARCHITECTURE.md);
a configuration lists them as addresses or CIDR networks (a bare address is a /32 or /128).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def allowed(remote: str | None, networks: Sequence[Network]) -> bool:
    """True when `remote` (an address as a socket gives it) is in one of `networks`; an
    unknown or malformed address is not. An IPv4 peer seen as IPv4-mapped IPv6 counts as
    its IPv4 address."""
    if remote is None:
        return False
    try:
        address = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


__all__ = ["Network", "allowed"]
