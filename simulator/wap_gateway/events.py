"""What the WAP gateway emulator tells its subscribers (the terminal UI): handsets attached and
detached, each request it carried to the platform and what came back, or why nothing did.
Published through the bounded bus of `simulator.events`, only when somebody listens.

Paths are shown with PINs masked (a form sent with GET carries its fields in the query); bodies
are never published.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator import events as _bus


@dataclass(frozen=True, slots=True)
class Attached:
    """A handset's bearer is up: its browser reaches the gateway at `url`."""

    msisdn: str
    url: str


@dataclass(frozen=True, slots=True)
class Detached:
    msisdn: str


@dataclass(frozen=True, slots=True)
class Forwarded:
    """One request carried to the platform and answered. `enriched`: the number headers were
    added; `stripped`: number headers the handset sent itself, removed before forwarding."""

    msisdn: str
    method: str
    path: str
    status: int
    content_type: str
    enriched: bool
    stripped: tuple[str, ...]
    ms: float


@dataclass(frozen=True, slots=True)
class ForwardFailed:
    """A request the platform did not answer usably; the handset got the gateway's own error
    page with `status` (502 unreachable or too large, 504 no answer in time)."""

    msisdn: str
    method: str
    path: str
    status: int
    error: str


Event = Attached | Detached | Forwarded | ForwardFailed
EventBus = _bus.EventBus[Event]

__all__ = ["Attached", "Detached", "Event", "EventBus", "ForwardFailed", "Forwarded"]
