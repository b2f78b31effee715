"""The channel's agent/language cache: answers from the ledger at most `ttl_ms` old, non-agents
remembered too, bounded with the oldest entry going first."""

from __future__ import annotations

from channels.sms.languages import AgentLanguages
from ledger.money import Msisdn

AGENT, OTHER, THIRD = Msisdn("8613800000003"), Msisdn("8613900000001"), Msisdn("8613900000002")


class Ledger:
    def __init__(self) -> None:
        self.languages: dict[str, str] = {AGENT: "zh-CN"}
        self.asked: list[str] = []

    async def language(self, msisdn: Msisdn) -> str | None:
        self.asked.append(msisdn)
        return self.languages.get(msisdn)


async def test_answers_are_kept_for_the_ttl_then_asked_again() -> None:
    ledger, now = Ledger(), [0]
    cache = AgentLanguages(ledger.language, ttl_ms=1_000, clock_ms=lambda: now[0])
    assert await cache.agent_language(AGENT) == "zh-CN"
    assert await cache.agent_language(OTHER) is None  # not an agent: remembered as such
    ledger.languages[AGENT] = "en"
    now[0] = 999
    assert (await cache.agent_language(AGENT), await cache.agent_language(OTHER)) == ("zh-CN", None)
    assert ledger.asked == [AGENT, OTHER]
    now[0] = 1_000
    assert await cache.agent_language(AGENT) == "en"  # expired: the ledger's answer now
    assert ledger.asked == [AGENT, OTHER, AGENT]


async def test_bounded_the_oldest_entry_goes_first() -> None:
    ledger = Ledger()
    cache = AgentLanguages(ledger.language, size_max=2, clock_ms=lambda: 0)
    for msisdn in (AGENT, OTHER, THIRD):
        await cache.agent_language(msisdn)
    await cache.agent_language(THIRD)  # kept
    await cache.agent_language(OTHER)  # kept
    await cache.agent_language(AGENT)  # dropped when THIRD came: asked again
    assert ledger.asked == [AGENT, OTHER, THIRD, AGENT]
