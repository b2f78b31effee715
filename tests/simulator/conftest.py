from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from aircharge.demo import DemoStack, simulator_world
from simulator.world import World


@pytest.fixture
async def world(demo: DemoStack) -> AsyncIterator[World]:
    """What the terminal simulator and the script runner drive, over a fresh demo stack;
    IVR prompts take no time."""
    world = simulator_world(demo, ivr_paced=False)
    try:
        yield world
    finally:
        await world.close()
