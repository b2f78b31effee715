"""The WAP tests' demo stack (platform and emulators on loopback) and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from aircharge.demo import DemoStack, start_demo
from tests.conftest import loopback_config


async def started(tmp_path: Path, **sections: object) -> DemoStack:
    """A demo stack with these config sections, its SMPP link up (codes and receipts go by
    SMS)."""
    stack = await start_demo(loopback_config(**sections), tmp_path / "demo")
    if stack.platform.sms is not None:
        await stack.platform.sms.link.wait_up(5_000)
    return stack


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[DemoStack]:
    stack = await started(tmp_path)
    try:
        yield stack
    finally:
        await stack.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
