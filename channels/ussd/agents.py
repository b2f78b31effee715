"""Which root menu a caller gets (agent or subscriber, and in which language), remembered
for a short while so that a dial does not ask the ledger every time.

Why a stale answer is safe: the menu is only a menu. Every operation an agent's menu leads
to authenticates its actor again in the ledger (known, active, not locked, the PIN), so an
agent removed or suspended a moment ago who still sees the agent menu gets the ledger's
refusal when it matters, and a caller made an agent a moment ago sees the subscriber menu
for at most `agent_menu_ttl_ms` (then dials again). A change of an agent's language shows
within the same time. The cache is per process and bounded; nothing in the ledger is cached.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Protocol

from ledger.money import Msisdn

agent_menu_ttl_ms: Final = 30_000  # how long a caller's menu choice is remembered
agent_menus_max: Final = 100_000  # callers remembered at most (least recent dropped)


class _AgentLike(Protocol):
    @property
    def language(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Menu:
    agent: bool
    language: str  # the agent's language; "" for a subscriber (the service's default applies)


class AgentMenus:
    def __init__(
        self,
        find_agent: Callable[[Msisdn], Awaitable[_AgentLike | None]],
        clock_ms: Callable[[], int],
        *,
        ttl_ms: int = agent_menu_ttl_ms,
        size_max: int = agent_menus_max,
    ) -> None:
        assert ttl_ms >= 0, ttl_ms
        assert size_max >= 0, size_max
        self._find_agent = find_agent
        self._clock_ms = clock_ms
        self._ttl_ms = ttl_ms
        self._size_max = size_max
        self._known: OrderedDict[Msisdn, tuple[int, Menu]] = OrderedDict()

    async def menu(self, msisdn: Msisdn) -> Menu:
        now_ms = self._clock_ms()
        known = self._known.get(msisdn)
        if known is not None and now_ms < known[0]:
            return known[1]
        agent = await self._find_agent(msisdn)
        menu = Menu(True, agent.language) if agent is not None else Menu(False, "")
        self._known[msisdn] = (now_ms + self._ttl_ms, menu)
        self._known.move_to_end(msisdn)
        while len(self._known) > self._size_max:
            self._known.popitem(last=False)
        return menu
