"""`aircharge demo`: a fresh demo world in one process on loopback.

A new SQLite database seeded with the demo agents, the BOSS emulator with the demo
subscribers (its own SQLite state file beside the database), the bank emulator notifying the
platform of deposits (its SQLite file beside them), the SMSC emulator (SMPP, with its HTTP
control API for handsets), and the platform bound to all of them. Everything
lives in one data directory that is wiped at each start, so every demo begins the same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from aircharge.config import Config
from aircharge.demo_data import migrated_demo_database
from aircharge.ivr_sounds import platform_sounds
from aircharge.platform import Listener, RunningPlatform, listen, start_platform
from dialogs.catalogue import Catalogue
from simulator.asterisk import AsteriskEmulator
from simulator.asterisk.control import create_control_app as create_asterisk_app
from simulator.bank import BankState, Notifier, create_bank_app
from simulator.boss import BossState, create_boss_app, open_boss_state, seed_demo_subscribers
from simulator.smsc import Account, Smsc
from simulator.smsc.control import create_control_app
from simulator.tui.world import ApiClient, World
from simulator.ussd_gateway import UssdGatewayEmulator

log = logging.getLogger(__name__)

DATABASE_FILE: Final = "aircharge.db"
BOSS_STATE_FILE: Final = "boss.db"
BANK_FILE: Final = "bank.db"
DEMO_LOG_FILE: Final = "aircharge.log"  # the logs while the terminal simulator is open


@dataclass
class DemoStack:
    data_dir: Path
    platform: RunningPlatform
    boss: Listener
    boss_state: BossState
    bank: Listener
    bank_state: BankState
    bank_notifier: Notifier
    smsc: Smsc
    smsc_http: Listener
    asterisk: AsteriskEmulator | None = None  # None when the platform's IVR is off
    asterisk_http: Listener | None = None

    async def close(self) -> None:
        await self.bank_notifier.close()
        if self.asterisk_http is not None:
            await self.asterisk_http.runner.cleanup()
        await self.platform.close()
        await self.smsc_http.runner.cleanup()
        await self.smsc.close()
        await self.bank.runner.cleanup()
        self.bank_state.close()
        await self.boss.runner.cleanup()
        self.boss_state.close()


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
    boss_state = open_boss_state(data_dir / BOSS_STATE_FILE)
    try:
        seed_demo_subscribers(boss_state)
        boss = await listen(
            create_boss_app(boss_state), config.simulator.host, config.simulator.boss_port
        )
    except BaseException:
        boss_state.close()
        raise
    bank_state = BankState(data_dir / BANK_FILE)
    bank_notifier = Notifier(bank_state, config.secrets.bank_secret.encode())
    try:
        bank = await listen(
            create_bank_app(bank_state, bank_notifier),
            config.simulator.host,
            config.simulator.bank_port,
        )
    except BaseException:
        bank_state.close()
        await boss.runner.cleanup()
        boss_state.close()
        raise
    try:
        smsc, smsc_http = await _start_smsc(config)
    except BaseException:
        bank_state.close()
        await boss.runner.cleanup()
        boss_state.close()
        raise
    config = replace(
        config,
        smpp=replace(config.smpp, host=config.simulator.host, port=smsc.port, ussd_port=smsc.port),
        boss=replace(config.boss, url=boss.url),
        bank=replace(config.bank, url=bank.url),
        database=replace(config.database, url=f"sqlite+aiosqlite:///{data_dir / DATABASE_FILE}"),
    )
    try:
        await migrated_demo_database(config.database, config.secrets.pin_keys())
        platform = await start_platform(config)
    except BaseException:
        await smsc_http.runner.cleanup()
        await smsc.close()
        await bank.runner.cleanup()
        bank_state.close()
        await boss.runner.cleanup()
        boss_state.close()
        raise
    bank_notifier.start(platform.url)
    stack = DemoStack(
        data_dir, platform, boss, boss_state, bank, bank_state, bank_notifier, smsc, smsc_http
    )
    if platform.ivr is not None:
        try:
            stack.asterisk, stack.asterisk_http = await _start_asterisk(config, platform.ivr.port)
        except BaseException:
            await stack.close()
            raise
    return stack


async def _start_asterisk(config: Config, fastagi_port: int) -> tuple[AsteriskEmulator, Listener]:
    """The Asterisk emulator calling the platform, with the platform's prompt texts, and its
    HTTP control API."""
    sounds = platform_sounds(Catalogue.load())
    emulator = AsteriskEmulator(config.platform.host, fastagi_port, sounds)
    control = await listen(
        create_asterisk_app(emulator), config.simulator.host, config.simulator.asterisk_http_port
    )
    return emulator, control


async def _start_smsc(config: Config) -> tuple[Smsc, Listener]:
    """The SMSC emulator with the platform's accounts (SMS bind, and the USSD centre bind
    when configured), and its HTTP control API."""
    smpp, secrets = config.smpp, config.secrets
    accounts = [Account(smpp.system_id, secrets.smpp_password)]
    if smpp.ussd_bind:
        accounts = [
            Account(smpp.system_id, secrets.smpp_password, ussd=False),
            Account(smpp.ussd_system_id, secrets.smpp_ussd_password, sms=False),
        ]
    smsc = Smsc(accounts)
    await smsc.start(config.simulator.host, config.simulator.smsc_port)
    try:
        control = await listen(
            create_control_app(smsc), config.simulator.host, config.simulator.smsc_http_port
        )
    except BaseException:
        await smsc.close()
        raise
    return smsc, control


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
    """What the terminal simulator drives in the demo: its emulators, a USSD gateway speaking
    the platform's configured profile to `/ussd/callback`, and an `/api/v1` client."""
    config = stack.platform.config
    secret = config.secrets.ussd_secret or None
    gateway = UssdGatewayEmulator(
        f"{stack.platform.url}/ussd/callback", config.ussd.profile, secret
    )
    return World(
        smsc=stack.smsc,
        ussd=gateway,
        asterisk=stack.asterisk,
        boss=stack.boss_state,
        bank=stack.bank_state,
        api=ApiClient(stack.platform.url, config.secrets.api_token),
        service_number=config.sms.service_number,
        ussd_code=config.ussd.service_code,
        ivr_paced=ivr_paced,
        closers=[gateway],
    )
