"""The WAP gateway as the demo world builds it: in front of the demo platform, a handset
attached on a free port of the simulator's host, closed with the world."""

from __future__ import annotations

import aiohttp

from aircharge.demo import DemoStack
from simulator.world import World


async def test_the_world_has_a_wap_gateway_in_front_of_the_platform(demo: DemoStack, world: World):
    gateway = world.wap
    assert gateway is not None
    assert str(gateway.target) == demo.platform.url
    bearer = await gateway.attach("13800000003")
    assert bearer.host == demo.platform.config.simulator.host
    assert bearer.port not in (0, demo.platform.config.platform.http_port)
    async with aiohttp.ClientSession() as http, http.get(bearer.home) as response:
        assert response.status != 502  # the platform answered, whatever it answers
        assert response.headers["Via"].endswith("aircharge-wap-gateway")
    await world.close()
    assert gateway.bearers == {}
