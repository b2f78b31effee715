from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from simulator.wap_gateway import WapGateway
from tests.simulator.wap_gateway.mimic import Mimic, create_mimic_app


@pytest.fixture
def mimic() -> Mimic:
    return Mimic()


@pytest.fixture
async def platform(aiohttp_server, mimic: Mimic) -> str:
    """The stand-in platform's origin, on a free loopback port."""
    server = await aiohttp_server(create_mimic_app(mimic), host="127.0.0.1")
    return f"http://127.0.0.1:{server.port}"


@pytest.fixture
async def gateway(platform: str) -> AsyncIterator[WapGateway]:
    async with WapGateway(platform) as gateway:
        yield gateway
