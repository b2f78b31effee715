"""Typed events of the SMSC emulator and a bounded fan-out to subscribers (the terminal UI).

Events are frozen, slotted dataclasses. `EventBus.publish` costs one attribute test when nobody
listens, so the hot paths publish freely. A subscriber is either a callback (called at once, in
the publishing task: keep it short) or an async iterator (`subscribe()`) with its own bounded
queue: when it falls behind, the oldest events are dropped and counted in `dropped`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

subscriber_queue_max: Final = 10_000  # events held for one slow async subscriber


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
Callback = Callable[[Event], None]


class Subscription:
    """An async iterator over events, bounded: the oldest are dropped when it falls behind."""

    def __init__(self, bus: EventBus, maxlen: int) -> None:
        assert maxlen > 0, "a subscription holds at least one event"
        self._bus = bus
        self._queue: deque[Event] = deque(maxlen=maxlen)
        self._ready = asyncio.Event()
        self.dropped = 0

    def put(self, event: Event) -> None:
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append(event)
        self._ready.set()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()

    def pending(self) -> list[Event]:
        """Take every queued event now, without waiting (tests, a UI's refresh tick)."""
        events = list(self._queue)
        self._queue.clear()
        return events

    def close(self) -> None:
        self._bus.unsubscribe(self)


class EventBus:
    """Fan-out of events to callbacks and bounded subscriptions."""

    def __init__(self) -> None:
        self._callbacks: list[Callback] = []
        self._subscriptions: list[Subscription] = []
        self.active = False  # anybody listening: publishers may skip building an event

    def subscribe(self, maxlen: int = subscriber_queue_max) -> Subscription:
        subscription = Subscription(self, maxlen)
        self._subscriptions.append(subscription)
        self.active = True
        return subscription

    def add_callback(self, callback: Callback) -> None:
        self._callbacks.append(callback)
        self.active = True

    def remove_callback(self, callback: Callback) -> None:
        self._callbacks.remove(callback)
        self.active = bool(self._callbacks or self._subscriptions)

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
        self.active = bool(self._callbacks or self._subscriptions)

    def publish(self, event: Event) -> None:
        for callback in self._callbacks:
            callback(event)
        for subscription in self._subscriptions:
            subscription.put(event)
