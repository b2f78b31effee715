"""The browser model through the gateway to the demo platform's own `/wap/` channel: an agent
tops up from the menu to the receipt (WML, the number from the gateway), the ledger shows it;
without enrichment the page asks who is browsing."""

from __future__ import annotations

from simulator.wap_browser import WapBrowser
from simulator.world import World

AGENT = "13800000003"


async def test_an_agent_tops_up_through_the_gateway(world: World):
    gateway = world.wap
    assert gateway is not None
    before = await world.api.agent(AGENT)
    bearer = await gateway.attach(AGENT)
    async with WapBrowser("wml") as browser:
        await browser.open(bearer.home)
        assert browser.status == 200
        for text in ("1", "13900000001", "50", "333333", "1"):
            await browser.answer(text)
        assert "充值成功" in browser.text()
    after = await world.api.agent(AGENT)
    assert before["deposit"]["posted_fen"] - after["deposit"]["posted_fen"] == 5_000
    gateway.enrich = False
    async with WapBrowser("xhtml") as browser:
        await browser.open(bearer.home)
        assert browser.screen is not None
        assert browser.screen.form is not None
        assert "代理商服务" not in browser.text()  # no number: it asks before the menu
