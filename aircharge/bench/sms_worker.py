"""The platform side of `aircharge bench sms`, in a process of its own so that it has a core
of its own and its memory and CPU can be read apart from the load:

    python -m aircharge.bench.sms_worker --dir DIR --boss-url URL --smsc-port PORT
                                         --merchants N [--profile]

Builds a fresh SQLite database with the demo agents and N extra merchants (PIN 333333, each
funded well beyond the run), starts the platform bound to the SMSC emulator and the BOSS
emulator, prints `ready`, and serves until a line `stop` (or the end of stdin). Then it
prints one JSON line: the ledger's verification, the top-ups posted, and with `--profile`
where the platform's CPU went, by component (`aircharge.bench.cpu`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from sqlalchemy import func, select

from aircharge.bench.agents import seed_merchants
from aircharge.bench.cpu import CpuProfile
from aircharge.config import (
    BossConfig,
    Config,
    DatabaseConfig,
    LimitsConfig,
    PlatformConfig,
    SmppConfig,
    SmsConfig,
)
from aircharge.database import create_engine, upgrade
from aircharge.demo_data import seed_demo
from aircharge.platform import start_platform
from ledger.schema import operations
from ledger.verify import verify

MERCHANT_PIN: Final = "333333"
FUNDING_FEN: Final = 10**10  # per merchant: far beyond any run
BIG: Final = 10**12


def bench_config(directory: Path, boss_url: str, smsc_port: int) -> Config:
    return Config(
        platform=PlatformConfig(http_port=0, fastagi_port=0, log_level="WARNING"),
        database=DatabaseConfig(url=f"sqlite+aiosqlite:///{directory / 'aircharge.db'}"),
        boss=BossConfig(url=boss_url),
        smpp=SmppConfig(port=smsc_port),
        sms=SmsConfig(replies_per_day_max=10**6),
        limits=replace(
            LimitsConfig(), daily_amount_fen=BIG, daily_count=10**9, subscriber_daily_fen=BIG
        ),
    )


def _shares(profile: CpuProfile) -> dict[str, float]:
    """The platform's CPU by component (`aircharge.bench.cpu`), as shares of the whole."""
    rows = profile.summary()["components"]
    return {str(row["component"]): float(row["share"]) for row in rows}


async def serve(args: argparse.Namespace) -> dict[str, Any]:
    config = bench_config(args.dir, args.boss_url, args.smsc_port)
    engine = create_engine(config.database)
    try:
        await upgrade(engine)
        await seed_demo(engine, config.secrets.pin_keys())
        pin_keys = config.secrets.pin_keys()
        await seed_merchants(
            engine, pin_keys, args.merchants, pin=MERCHANT_PIN, funding_fen=FUNDING_FEN
        )
    finally:
        await engine.dispose()
    platform = await start_platform(config)
    profile = CpuProfile() if args.profile else None
    try:
        assert platform.sms is not None
        if not await platform.sms.link.wait_up(10_000):
            raise RuntimeError("the platform did not bind to the SMSC emulator")
        print("ready", flush=True)
        if profile is not None:
            profile.start()
        line = await asyncio.to_thread(sys.stdin.readline)
        while line and line.strip() != "stop":
            line = await asyncio.to_thread(sys.stdin.readline)
        if profile is not None:
            profile.stop()
    finally:
        await platform.close()
    engine = create_engine(config.database)
    try:
        report = await verify(engine)
        async with engine.connect() as conn:
            posted = (
                await conn.execute(
                    select(func.count(), func.coalesce(func.sum(operations.c.amount), 0)).where(
                        operations.c.kind == "topup", operations.c.state == "posted"
                    )
                )
            ).one()
    finally:
        await engine.dispose()
    return {
        "ledger_ok": report.ok,
        "topups_posted": int(posted[0]),
        "topups_posted_fen": int(posted[1]),
        "components": {} if profile is None else _shares(profile),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m aircharge.bench.sms_worker")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--boss-url", required=True)
    parser.add_argument("--smsc-port", type=int, required=True)
    parser.add_argument("--merchants", type=int, default=1_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(serve(args))), flush=True)


if __name__ == "__main__":
    main()
