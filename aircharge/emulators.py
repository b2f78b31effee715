"""The carrier's elements, emulated on loopback: BOSS, the bank, the SMSC and Asterisk.

`aircharge demo` starts them beside a platform of its own (aircharge/demo.py); `aircharge sim`
starts them for a platform running elsewhere, configured with the same file, so that it binds
to this SMSC, calls this BOSS and bank, and receives this Asterisk's calls. Their state lives
in a data directory: BOSS's subscribers and operations (seeded with the demo subscribers when
new) and the bank's book, each in a SQLite file. The agents' service SIMs are profiles in
`<data-dir>/sims/` (written by `aircharge demo`, or `aircharge stk provision --out`); the
handsets' SIMs run the agent menu program compiled here, once per language.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from aircharge.config import Config
from aircharge.demo_data import SIMS_DIR
from aircharge.ivr_sounds import platform_sounds
from aircharge.platform import Listener, listen
from channels.stk.compiler import STK_FLOW, compile_program
from dialogs.catalogue import Catalogue
from dialogs.flow import load_flows
from simulator.asterisk import AsteriskEmulator
from simulator.asterisk.control import create_control_app as create_asterisk_app
from simulator.bank import BankState, Notifier, create_bank_app
from simulator.boss import BossState, create_boss_app, open_boss_state, seed_demo_subscribers
from simulator.boss.app import FAULTS_KEY as BOSS_FAULTS
from simulator.smsc import Account, Smsc
from simulator.smsc.control import create_control_app
from simulator.stk.store import SimStore
from simulator.ussd_gateway import UssdGatewayEmulator
from simulator.wap_gateway import WapGateway
from simulator.world import ApiClient, World

BOSS_STATE_FILE: Final = "boss.db"
BANK_FILE: Final = "bank.db"
SIM_LANGUAGES: Final = ("zh-CN", "en")


@functools.cache
def sim_programs(service_number: str) -> dict[str, bytes]:
    """The agent SIM's menu program (`aircharge stk export`), compiled in each language."""
    flow, catalogue = load_flows()[STK_FLOW], Catalogue.load()
    return {
        language: compile_program(flow, catalogue, language, service_number)
        for language in SIM_LANGUAGES
    }


@dataclass
class Emulators:
    """The running emulators; `close()` stops what was started, in reverse."""

    data_dir: Path
    boss: Listener
    boss_state: BossState
    bank: Listener
    bank_state: BankState
    bank_notifier: Notifier
    smsc: Smsc
    smsc_http: Listener
    asterisk: AsteriskEmulator | None = None  # None until `start_asterisk` (or IVR is off)
    asterisk_http: Listener | None = None

    def platform_config(self, config: Config) -> Config:
        """`config` with the platform's SMSC, BOSS and bank pointed at these emulators."""
        host = self.smsc_http.host
        return replace(
            config,
            smpp=replace(config.smpp, host=host, port=self.smsc.port, ussd_port=self.smsc.port),
            boss=replace(config.boss, url=self.boss.url),
            bank=replace(config.bank, url=self.bank.url),
        )

    async def start_asterisk(self, config: Config, fastagi_host: str, fastagi_port: int) -> None:
        """The Asterisk emulator calling the FastAGI server at `fastagi_host:fastagi_port` with
        the platform's prompt texts, and its HTTP control API."""
        sounds = platform_sounds(Catalogue.load())
        emulator = AsteriskEmulator(fastagi_host, fastagi_port, sounds)
        self.asterisk_http = await listen(
            create_asterisk_app(emulator),
            config.simulator.host,
            config.simulator.asterisk_http_port,
        )
        self.asterisk = emulator

    def world(self, config: Config, platform_url: str, *, ivr_paced: bool = True) -> World:
        """What the terminal simulator and the script runner drive: these emulators, a USSD
        gateway speaking the configured profile to the platform's `/ussd/callback`, a WAP
        gateway in front of the platform's `/wap/` (each handset attached gets a listener on
        a free port of the `[simulator]` host), the service SIMs of `<data-dir>/sims/`, and an
        `/api/v1` client with the configured token."""
        secret = config.secrets.ussd_secret or None
        gateway = UssdGatewayEmulator(f"{platform_url}/ussd/callback", config.ussd.profile, secret)
        wap = WapGateway(platform_url, host=config.simulator.host)
        return World(
            smsc=self.smsc,
            ussd=gateway,
            asterisk=self.asterisk,
            boss=self.boss_state,
            bank=self.bank_state,
            api=ApiClient(platform_url, config.secrets.api_token),
            service_number=config.sms.service_number,
            ussd_code=config.ussd.service_code,
            ivr_paced=ivr_paced,
            closers=[gateway, wap],
            boss_faults=self.boss.runner.app[BOSS_FAULTS],
            bank_notifier=self.bank_notifier,
            ussd_events=gateway.events,
            wap=wap,
            sims=SimStore(sim_programs(config.sms.service_number), self.data_dir / SIMS_DIR),
        )

    async def close(self) -> None:
        await self.stop_callers()
        await self.stop_backends()

    async def stop_callers(self) -> None:
        """Stop what calls the platform: the bank's notifier and Asterisk's control API."""
        await self.bank_notifier.close()
        if self.asterisk_http is not None:
            await self.asterisk_http.runner.cleanup()
            self.asterisk_http = None

    async def stop_backends(self) -> None:
        """Stop what the platform calls: the SMSC, the bank and BOSS."""
        await self.smsc_http.runner.cleanup()
        await self.smsc.close()
        await self.bank.runner.cleanup()
        self.bank_state.close()
        await self.boss.runner.cleanup()
        self.boss_state.close()


async def start_emulators(config: Config, data_dir: Path) -> Emulators:
    """BOSS, the bank and the SMSC on the `[simulator]` host and ports (0 picks free ones),
    their state in `data_dir` (an existing directory). The bank notifies no one until
    `bank_notifier.start(platform_url)`; Asterisk starts with `start_asterisk`."""
    host = config.simulator.host
    boss_state = open_boss_state(data_dir / BOSS_STATE_FILE)
    try:
        seed_demo_subscribers(boss_state)
        boss = await listen(create_boss_app(boss_state), host, config.simulator.boss_port)
    except BaseException:
        boss_state.close()
        raise
    bank_state = BankState(data_dir / BANK_FILE)
    bank_notifier = Notifier(bank_state, config.secrets.bank_secret.encode())
    try:
        bank_app = create_bank_app(bank_state, bank_notifier)
        bank = await listen(bank_app, host, config.simulator.bank_port)
    except BaseException:
        bank_state.close()
        await boss.runner.cleanup()
        boss_state.close()
        raise
    try:
        smsc, smsc_http = await _start_smsc(config)
    except BaseException:
        await bank.runner.cleanup()
        bank_state.close()
        await boss.runner.cleanup()
        boss_state.close()
        raise
    return Emulators(data_dir, boss, boss_state, bank, bank_state, bank_notifier, smsc, smsc_http)


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


__all__ = ["BANK_FILE", "BOSS_STATE_FILE", "Emulators", "start_emulators"]
