"""What every profile answers with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer, sans-IO: the transport writes it as is."""

    status: int
    content_type: str
    body: bytes


class UssdGatewayReplyError(Exception):
    """The platform's answer is not what the profile allows (the emulator's view): it names
    the status and what was wrong."""
