"""A bounded fan-out of typed events to subscribers (the terminal UI), shared by the emulators.

Each emulator defines its events as frozen, slotted dataclasses and its own bus type,
`EventBus[ItsEvent]`. `publish` costs one attribute test when nobody listens (`active`), so the
hot paths publish freely. A subscriber is either a callback (called at once, in the publishing
task: keep it short) or an async iterator (`subscribe()`) with its own bounded queue: when it
falls behind, the oldest events are dropped and counted in `dropped`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Final, Generic, TypeVar

subscriber_queue_max: Final = 10_000  # events held for one slow async subscriber

E = TypeVar("E")


class Subscription(Generic[E]):
    """An async iterator over events, bounded: the oldest are dropped when it falls behind."""

    def __init__(self, bus: EventBus[E], maxlen: int) -> None:
        assert maxlen > 0, "a subscription holds at least one event"
        self._bus = bus
        self._queue: deque[E] = deque(maxlen=maxlen)
        self._ready = asyncio.Event()
        self.dropped = 0

    def put(self, event: E) -> None:
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append(event)
        self._ready.set()

    def __aiter__(self) -> Subscription[E]:
        return self

    async def __anext__(self) -> E:
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()

    def pending(self) -> list[E]:
        """Take every queued event now, without waiting (tests, a UI's refresh tick)."""
        events = list(self._queue)
        self._queue.clear()
        return events

    def close(self) -> None:
        self._bus.unsubscribe(self)


class EventBus(Generic[E]):
    """Fan-out of events to callbacks and bounded subscriptions."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[E], None]] = []
        self._subscriptions: list[Subscription[E]] = []
        self.active = False  # anybody listening: publishers may skip building an event

    def subscribe(self, maxlen: int = subscriber_queue_max) -> Subscription[E]:
        subscription = Subscription(self, maxlen)
        self._subscriptions.append(subscription)
        self.active = True
        return subscription

    def add_callback(self, callback: Callable[[E], None]) -> None:
        self._callbacks.append(callback)
        self.active = True

    def remove_callback(self, callback: Callable[[E], None]) -> None:
        self._callbacks.remove(callback)
        self.active = bool(self._callbacks or self._subscriptions)

    def unsubscribe(self, subscription: Subscription[E]) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
        self.active = bool(self._callbacks or self._subscriptions)

    def publish(self, event: E) -> None:
        for callback in self._callbacks:
            callback(event)
        for subscription in self._subscriptions:
            subscription.put(event)


__all__ = ["EventBus", "Subscription", "subscriber_queue_max"]
