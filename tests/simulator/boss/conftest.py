"""Fixtures for the BOSS emulator tests: a controllable clock, a demo state, an HTTP client."""

from __future__ import annotations

from datetime import datetime

import pytest

from simulator.boss import SHANGHAI, BossState, create_boss_app, seed_demo_subscribers
from tests.simulator.boss.helpers import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2025, 3, 14, 9, 30, tzinfo=SHANGHAI))


@pytest.fixture
def state(clock: FakeClock) -> BossState:
    state = BossState(clock=clock)
    assert seed_demo_subscribers(state)
    return state


@pytest.fixture
async def client(aiohttp_client, state):
    return await aiohttp_client(create_boss_app(state))
