"""What the USSD gateway emulator tells its subscribers (the terminal UI's USSD console):
each callback it made to the platform and what came back, or why nothing did. Published
through the bounded bus of `simulator.events`, only when somebody listens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from simulator import events as _bus

Operation = Literal["begin", "continue", "abort", "retry"]


@dataclass(frozen=True, slots=True)
class Exchanged:
    """One callback answered: `sent` is the dial string or the input (PINs included: the
    console masks them), `page` what the handset shows."""

    session_id: str
    msisdn: str
    operation: Operation
    sent: str
    status: int
    page: str
    end: bool
    ms: float


@dataclass(frozen=True, slots=True)
class CallbackFailed:
    """A callback that got no usable answer (refused, timed out, unreadable)."""

    session_id: str
    msisdn: str
    operation: Operation
    sent: str
    error: str


Event = Exchanged | CallbackFailed
EventBus = _bus.EventBus[Event]

__all__ = ["CallbackFailed", "Event", "EventBus", "Exchanged", "Operation"]
