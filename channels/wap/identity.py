"""Who is on the page: the caller's number from header enrichment, believed only from the
operator's WAP gateways.

An operator's WAP gateway adds the subscriber's number to every request it proxies
(`X-MSISDN`; Openwave gateways `X-Up-Calling-Line-Id`). Anyone else can write those headers
too, so they are believed only when the TCP peer itself is an allow-listed gateway address
(`wap.allowed_gateways`); the peer is the socket's, never `X-Forwarded-For`. From any other
address they are ignored, and the verdict says so, so that the channel counts and logs it.
A header from a gateway that is not a number (or two headers naming different numbers) is
treated as no header: the page asks. Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from channels.access import Network, allowed
from dialogs.inputs import parse_msisdn
from ledger.money import Msisdn

CALLER_HEADERS: Final = ("X-MSISDN", "X-Up-Calling-Line-Id")
header_chars_max: Final = 32  # a number header longer than this is not a number

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
        return f"wap@{self.peer}"


def caller(headers: Mapping[str, str], peer: str | None, gateways: Sequence[Network]) -> Caller:
    """The caller of a request with these headers from `peer` (see the module docstring)."""
    where = peer or "unknown"
    given = [headers[name].strip() for name in CALLER_HEADERS if name in headers]
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
