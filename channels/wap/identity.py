"""Who is on the page: the caller's number from header enrichment, believed only from the
operator's WAP gateways.

An operator's WAP gateway adds the subscriber's number to every request it proxies
(`X-MSISDN`; Openwave gateways `X-Up-Calling-Line-Id`). Anyone else can write those headers
too, so they are believed only when the TCP peer itself is an allow-listed gateway address
(`wap.allowed_gateways`); the peer is the socket's, never `X-Forwarded-For`. From any other
address they are ignored, and the verdict says so, so that the channel counts and logs it.
A header from a gateway that is not a number (or two headers, or two copies of one, naming
different numbers) is treated as no header: the page asks. Every copy counts, so a client's
own `X-MSISDN` in front of the one its gateway appends cannot win.

The wrong-PIN throttle keys a caller by its address, an IPv6 caller by its /64: one host holds
a whole /64 and could otherwise step through it. Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv6Address, ip_address, ip_network
from typing import Final, Literal

from multidict import MultiMapping

from channels.access import Network, allowed
from dialogs.inputs import parse_msisdn
from ledger.money import Msisdn

CALLER_HEADERS: Final = ("X-MSISDN", "X-Up-Calling-Line-Id")
header_chars_max: Final = 32  # a number header longer than this is not a number
ipv6_source_prefix: Final = 64  # the IPv6 block one subscriber or host is given

Verdict = Literal["trusted", "absent", "invalid", "untrusted"]


@dataclass(frozen=True, slots=True)
class Caller:
    """The request's source: the TCP peer, and the number when a trusted gateway gave one."""

    peer: str
    msisdn: Msisdn | None
    verdict: Verdict

    @property
    def origin(self) -> str:
        """The wrong-PIN throttle's source for a caller the network does not vouch for."""
        return f"wap@{_source(self.peer)}"


def _source(peer: str) -> str:
    try:
        address = ip_address(peer)
    except ValueError:
        return peer
    if isinstance(address, IPv6Address) and address.ipv4_mapped is None:
        return str(ip_network(f"{address}/{ipv6_source_prefix}", strict=False))
    return peer


def _all(headers: Mapping[str, str], name: str) -> list[str]:
    if isinstance(headers, MultiMapping):
        return list(headers.getall(name, []))
    return [headers[name]] if name in headers else []


def caller(headers: Mapping[str, str], peer: str | None, gateways: Sequence[Network]) -> Caller:
    """The caller of a request with these headers from `peer` (see the module docstring)."""
    where = peer or "unknown"
    # Every copy of each header: a client's own X-MSISDN before the gateway's must not win.
    given = [value.strip() for name in CALLER_HEADERS for value in _all(headers, name)]
    if not given:
        return Caller(where, None, "absent")
    if not allowed(peer, gateways):
        return Caller(where, None, "untrusted")
    numbers = {
        parse_msisdn(value) if 0 < len(value) <= header_chars_max else None for value in given
    }
    if len(numbers) != 1 or None in numbers:
        return Caller(where, None, "invalid")
    (number,) = numbers
    assert number is not None
    return Caller(where, Msisdn(number), "trusted")


__all__ = ["CALLER_HEADERS", "Caller", "Verdict", "caller"]
