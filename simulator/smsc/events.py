"""Typed events of the SMSC emulator, fanned out to subscribers (the terminal UI) by the
bounded bus of `simulator.events` (the one every emulator uses). Events are frozen, slotted
dataclasses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from simulator import events as _bus


@dataclass(frozen=True, slots=True)
class Bound:
    system_id: str
    kind: str  # "transceiver", "transmitter", "receiver"
    peer: str


@dataclass(frozen=True, slots=True)
class Unbound:
    system_id: str
    kind: str
    reason: Literal["unbind", "closed", "dropped", "shutdown"]


@dataclass(frozen=True, slots=True)
class MoSent:
    msisdn: str
    to: str
    text: str
    reference: int
    parts: int
    data_coding: int


@dataclass(frozen=True, slots=True)
class MoAcked:
    msisdn: str
    to: str
    reference: int
    attempts: int  # deliver_sm sent for its parts, re-deliveries included


@dataclass(frozen=True, slots=True)
class MoRedelivered:
    msisdn: str
    to: str
    reference: int
    reason: Literal["nack", "timeout", "link lost", "resp lost"]
    status: int | None  # the deliver_sm_resp status on "nack"


@dataclass(frozen=True, slots=True)
class MtReceived:
    source: str
    destination: str
    text: str
    data_coding: int
    parts: int
    message_id: str  # the last part's id


@dataclass(frozen=True, slots=True)
class ReceiptSent:
    message_id: str
    source: str  # the handset the MT was for
    destination: str
    state: str  # "DELIVRD", "UNDELIV"


@dataclass(frozen=True, slots=True)
class UssdPageShown:
    msisdn: str
    session: int
    text: str


@dataclass(frozen=True, slots=True)
class UssdEnded:
    msisdn: str
    session: int
    text: str


@dataclass(frozen=True, slots=True)
class UssdAborted:
    msisdn: str
    session: int
    reason: Literal["user", "timeout"]


@dataclass(frozen=True, slots=True)
class FaultInjected:
    kind: Literal["throttle", "vendor status", "latency", "drop link", "resp lost"]
    detail: str


Event = (
    Bound | Unbound | MoSent | MoAcked | MoRedelivered | MtReceived | ReceiptSent
    | UssdPageShown | UssdEnded | UssdAborted | FaultInjected
)  # fmt: skip
# The SMSC's bus and subscriptions: the shared, generic ones (simulator.events) over its events.
EventBus = _bus.EventBus[Event]
Subscription = _bus.Subscription[Event]
Callback = Callable[[Event], None]
