"""`aircharge demo`: a fresh demo world in one process on loopback.

A new SQLite database seeded with the demo agents, the BOSS emulator with the demo
subscribers (its own SQLite state file beside the database), and the platform bound to both.
Everything lives in one data directory that is wiped at each start, so every demo begins the
same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from aircharge.config import Config
from aircharge.database import create_engine, upgrade
from aircharge.demo_data import seed_demo
from aircharge.platform import Listener, RunningPlatform, listen, start_platform
from simulator.boss import BossState, create_boss_app, open_boss_state, seed_demo_subscribers

log = logging.getLogger(__name__)

DATABASE_FILE: Final = "aircharge.db"
BOSS_STATE_FILE: Final = "boss.db"


@dataclass
class DemoStack:
    data_dir: Path
    platform: RunningPlatform
    boss: Listener
    boss_state: BossState

    async def close(self) -> None:
        await self.platform.close()
        await self.boss.runner.cleanup()
        self.boss_state.close()


def _fresh(data_dir: Path) -> Path:
    """The data directory, absolute and emptied of a previous demo's files."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    for database in (DATABASE_FILE, BOSS_STATE_FILE):
        for name in (database, f"{database}-wal", f"{database}-shm"):
            (data_dir / name).unlink(missing_ok=True)
    return data_dir


async def start_demo(config: Config, data_dir: Path) -> DemoStack:
    """Start the demo world; `config` supplies hosts and ports (0 picks free ones)."""
    data_dir = _fresh(data_dir)
    boss_state = open_boss_state(data_dir / BOSS_STATE_FILE)
    try:
        seed_demo_subscribers(boss_state)
        boss = await listen(
            create_boss_app(boss_state), config.simulator.host, config.simulator.boss_port
        )
    except BaseException:
        boss_state.close()
        raise
    config = replace(
        config,
        boss=replace(config.boss, url=boss.url),
        database=replace(config.database, url=f"sqlite+aiosqlite:///{data_dir / DATABASE_FILE}"),
    )
    try:
        engine = create_engine(config.database)
        try:
            await upgrade(engine)
            await seed_demo(engine, config.secrets.pin_key.encode())
        finally:
            await engine.dispose()
        platform = await start_platform(config)
    except BaseException:
        await boss.runner.cleanup()
        boss_state.close()
        raise
    return DemoStack(data_dir, platform, boss, boss_state)


def banner(stack: DemoStack) -> str:
    """What the newcomer reads: where everything listens and a first thing to try."""
    platform, boss = stack.platform.url, stack.boss.url
    return "\n".join(
        [
            "aircharge demo is running (Ctrl-C to stop)",
            f"  data            {stack.data_dir}",
            f"  platform HTTP   {platform}/   USSD callback {platform}/ussd/callback,"
            f" metrics {platform}/metrics",
            f"  BOSS emulator   {boss}/boss/   e.g. {boss}/boss/subscribers/13900000001",
            "",
            "Dial *123# as the merchant 13800000003 (PIN 333333):",
            f"  curl -s {platform}/ussd/callback -d sessionId=s1 -d serviceCode='*123#'"
            " -d phoneNumber=13800000003 -d text=",
            "  then repeat with text=1, text=1*13900000001, text=1*13900000001*50,"
            " text=1*13900000001*50*333333, text=1*13900000001*50*333333*1",
        ]
    )
