"""The platform as the channel benches run it: `serve`'s code on a fresh SQLite database
(durable commits), the demo agents seeded, the sales limits lifted so that no run meets them,
and the demo merchant funded by a bank deposit far beyond any run. SMPP is off (no SMSC in
these benches); every listener takes a free port."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from aircharge.config import (
    BossConfig,
    Config,
    DatabaseConfig,
    LimitsConfig,
    PlatformConfig,
    SmppConfig,
)
from aircharge.demo_data import migrated_demo_database
from aircharge.platform import RunningPlatform, start_platform
from ledger.gateways.bank import BankNotification
from ledger.money import CURRENCY, Fen
from ledger.operations import OperationService

MERCHANT: Final = "13800000003"  # the demo's merchant, who sells in every channel bench
FUNDING_FEN: Final = 10**11
_LIMIT_LIFTED: Final = 10**12


async def _fund(operations: OperationService) -> None:
    """Credit the merchant enough deposit for any run, as a bank deposit would."""
    now = datetime.now(UTC)
    notification = BankNotification(
        txn_id=f"bench-{now.timestamp():.0f}",
        amount=Fen(FUNDING_FEN),
        currency=CURRENCY,
        payer_name="bench",
        payer_account="6222020000000000000",
        reference=MERCHANT,
        value_date=now.date(),
        booked_at=now,
    )
    receipt = await operations.deposit(notification)
    assert receipt.verdict == "credited", receipt


@contextlib.asynccontextmanager
async def bench_platform(
    directory: Path, boss_url: str, **sections: Any
) -> AsyncIterator[RunningPlatform]:
    """The running platform (see the module docstring); `sections` replace whole config
    sections (`ussd=UssdConfig(profile="json")`)."""
    config = Config(
        platform=PlatformConfig(http_port=0, fastagi_port=0, log_level="WARNING"),
        smpp=SmppConfig(enabled=False),
        database=DatabaseConfig(url=f"sqlite+aiosqlite:///{directory / 'aircharge.db'}"),
        boss=BossConfig(url=boss_url),
        limits=replace(
            LimitsConfig(),
            daily_amount_fen=_LIMIT_LIFTED,
            daily_count=10**9,
            subscriber_daily_fen=_LIMIT_LIFTED,
        ),
        **sections,
    )
    await migrated_demo_database(config.database, config.secrets.pin_keys())
    platform = await start_platform(config)
    try:
        await _fund(platform.operations)
        yield platform
    finally:
        await platform.close()


__all__ = ["MERCHANT", "bench_platform"]
