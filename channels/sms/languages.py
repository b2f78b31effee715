"""A small per-process cache of "is this number an agent, and in which language".

The SMS channel reads it twice per MO: the sender's (agent flows in the agent's language, or
the subscriber flows in the platform default) and a notice recipient's. Both choices move no
money: an operation re-authenticates its actor in the ledger whatever flow asked for it, so an
answer up to `ttl_ms` old costs at most a reply in the former language, or a number made an
agent a few seconds ago being offered the subscriber menu until the entry expires. Bounded:
the oldest entry goes first. The USSD channel caches its menus the same way.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Final

from ledger.money import Msisdn

ttl_ms_default: Final = 30_000
size_max_default: Final = 50_000

Lookup = Callable[[Msisdn], Awaitable[str | None]]  # the agent's language; None: not an agent


def _monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


class AgentLanguages:
    def __init__(
        self,
        lookup: Lookup,
        *,
        ttl_ms: int = ttl_ms_default,
        size_max: int = size_max_default,
        clock_ms: Callable[[], int] = _monotonic_ms,
    ) -> None:
        assert ttl_ms >= 0
        assert size_max > 0
        self._lookup = lookup
        self._ttl_ms = ttl_ms
        self._size_max = size_max
        self._clock_ms = clock_ms
        self._entries: dict[Msisdn, tuple[int, str | None]] = {}

    async def agent_language(self, msisdn: Msisdn) -> str | None:
        """The agent's language, or None when the number is not an agent's."""
        now = self._clock_ms()
        entry = self._entries.get(msisdn)
        if entry is not None and now - entry[0] < self._ttl_ms:
            return entry[1]
        language = await self._lookup(msisdn)
        self._entries.pop(msisdn, None)
        while len(self._entries) >= self._size_max:
            del self._entries[next(iter(self._entries))]
        self._entries[msisdn] = (now, language)
        return language

    def forget(self) -> None:
        self._entries.clear()
