"""Counts an operator can act on, kept by a channel and passed on to whoever observes them.
Channels do not import the composition root: `aircharge` gives an observer that feeds its
Prometheus metrics. Counters get the increment; gauges (a link's `up`) get the new value."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

Observer = Callable[[str, int], None]


class Counters:
    def __init__(
        self,
        events: tuple[str, ...],
        gauges: tuple[str, ...] = (),
        observer: Observer | None = None,
    ) -> None:
        self._events = frozenset(events)
        self._gauges = frozenset(gauges)
        self._counts = dict.fromkeys(events + gauges, 0)
        self._observer = observer

    def add(self, event: str, count: int = 1) -> None:
        assert event in self._events, f"unknown event {event!r}"
        if count <= 0:
            return
        self._counts[event] += count
        if self._observer is not None:
            self._observer(event, count)

    def set(self, gauge: str, value: int) -> None:
        assert gauge in self._gauges, f"unknown gauge {gauge!r}"
        self._counts[gauge] = value
        if self._observer is not None:
            self._observer(gauge, value)

    def snapshot(self) -> Mapping[str, int]:
        return MappingProxyType(dict(self._counts))


__all__ = ["Counters", "Observer"]
