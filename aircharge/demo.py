"""`aircharge demo`: a fresh demo world in one process on loopback.

A new SQLite database seeded with the demo agents, the BOSS emulator with the demo
subscribers (its own SQLite state file beside the database), the bank emulator notifying the
platform of deposits (its SQLite file beside them), the SMSC emulator (SMPP, with its HTTP
control API for handsets), and the platform bound to all of them. Everything
lives in one data directory that is wiped at each start, so every demo begins the same.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Final

from aircharge.config import Config
from aircharge.demo_data import migrated_demo_database, write_demo_sim_profiles
from aircharge.emulators import BANK_FILE, BOSS_STATE_FILE, Emulators, start_emulators
from aircharge.platform import RunningPlatform, start_platform
from simulator.world import World

DATABASE_FILE: Final = "aircharge.db"
DEMO_LOG_FILE: Final = "aircharge.log"  # the logs while the terminal simulator is open


@dataclass(kw_only=True)
class DemoStack(Emulators):
    """The emulators and the platform bound to them."""

    platform: RunningPlatform

    async def close(self) -> None:
        await self.stop_callers()
        await self.platform.close()
        await self.stop_backends()


def _fresh(data_dir: Path) -> Path:
    """The data directory, absolute and emptied of a previous demo's files."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    for database in (DATABASE_FILE, BOSS_STATE_FILE, BANK_FILE):
        for name in (database, f"{database}-wal", f"{database}-shm"):
            (data_dir / name).unlink(missing_ok=True)
    return data_dir


async def start_demo(config: Config, data_dir: Path) -> DemoStack:
    """Start the demo world; `config` supplies hosts and ports (0 picks free ones)."""
    data_dir = _fresh(data_dir)
    emulators = await start_emulators(config, data_dir)
    config = emulators.platform_config(config)
    database_url = f"sqlite+aiosqlite:///{data_dir / DATABASE_FILE}"
    config = replace(config, database=replace(config.database, url=database_url))
    try:
        await migrated_demo_database(config.database, config.secrets.pin_keys())
        write_demo_sim_profiles(data_dir, config.sms.service_number)  # the SIMs' profiles
        platform = await start_platform(config)
    except BaseException:
        await emulators.close()
        raise
    emulators.bank_notifier.start(platform.url)
    started = {field.name: getattr(emulators, field.name) for field in fields(emulators)}
    stack = DemoStack(**started, platform=platform)
    if platform.ivr is not None:
        try:
            await stack.start_asterisk(config, config.platform.host, platform.ivr.port)
        except BaseException:
            await stack.close()
            raise
    return stack


def banner(stack: DemoStack) -> str:
    """What the newcomer reads: where everything listens and a first thing to try."""
    platform, boss, bank = stack.platform.url, stack.boss.url, stack.bank.url
    smsc = stack.smsc_http.url
    return "\n".join(
        [
            "aircharge demo is running (Ctrl-C to stop)",
            f"  data            {stack.data_dir}",
            f"  platform HTTP   {platform}/   USSD callback {platform}/ussd/callback,"
            f" metrics {platform}/metrics",
            f"  BOSS emulator   {boss}/boss/   e.g. {boss}/boss/subscribers/13900000001",
            f"  bank emulator   {bank}/bank/   deposits notify {platform}/bank/notify",
            f"  SMSC emulator   SMPP on port {stack.smsc.port}, handsets at {smsc}/smsc/",
            *_ivr_lines(stack),
            "",
            "Top up by SMS as the merchant, then read both phones' inboxes:",
            f"  curl -s {smsc}/smsc/sms -H 'Content-Type: application/json'"
            """ -d '{"from": "13800000003", "text": "CZ 13900000001 50 333333"}'""",
            f"  curl -s {smsc}/smsc/handsets/13800000003/inbox;"
            f" curl -s {smsc}/smsc/handsets/13900000001/inbox",
            "",
            *_ivr_example(stack),
            "Dial *123# as the merchant 13800000003 (PIN 333333):",
            f"  curl -s {platform}/ussd/callback -d sessionId=s1 -d serviceCode='*123#'"
            " -d phoneNumber=13800000003 -d text=",
            "  then repeat with text=1, text=1*13900000001, text=1*13900000001*50,"
            " text=1*13900000001*50*333333, text=1*13900000001*50*333333*1",
            "",
            "Deposit ¥100.00 to the merchant by bank transfer:",
            f"  curl -s {bank}/bank/transfers -H 'Content-Type: application/json' -d"
            """ '{"payer_name": "Li Si", "payer_account": "6222000011112222","""
            """ "agent_msisdn": "13800000003", "amount": 10000}'""",
        ]
    )


def _ivr_lines(stack: DemoStack) -> list[str]:
    ivr, control = stack.platform.ivr, stack.asterisk_http
    if ivr is None or control is None:
        return []
    return [f"  Asterisk emul.  calls FastAGI port {ivr.port}, callers at {control.url}/asterisk/"]


def _ivr_example(stack: DemoStack) -> list[str]:
    if stack.asterisk_http is None:
        return []
    return [
        "Call the IVR as the merchant and top up ¥30 by keypad; the answer is what was said:",
        f"  curl -s {stack.asterisk_http.url}/asterisk/calls -H 'Content-Type: application/json'"
        """ -d '{"from": "13800000003", "keys": ["1", "13900000002#", "30#", "333333", "1"]}'""",
        "",
    ]


def simulator_world(stack: DemoStack, *, ivr_paced: bool = True) -> World:
    """What the terminal simulator drives in the demo: its emulators and its platform."""
    return stack.world(stack.platform.config, stack.platform.url, ivr_paced=ivr_paced)
