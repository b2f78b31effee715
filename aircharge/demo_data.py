"""The demo data of ARCHITECTURE.md on the platform side: the agent tree, its deposits and
the agents' service SIMs.

Deposits arrive as transfers from bank clearing, with fixed keys, so seeding twice changes
nothing. The subscribers live in the BOSS emulator (`simulator.boss`), not here.

Each demo agent gets a service SIM whose id and keys derive from the agent's number and a
published seed (`demo_sim`): demo values, as public as the demo PINs, so every demo starts
with the same SIMs and `aircharge demo` writes their profiles to `<data-dir>/sims/<msisdn>.json`
(`write_demo_sim_profiles`) for the simulator's SIM to load, without reading the database.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from aircharge.config import DatabaseConfig
from aircharge.database import create_engine, upgrade
from aircharge.runtime import clock_ms
from aircharge.stk_sims_cli import write_private
from channels.stk.secure import SimKeys, key_bytes, sim_id_chars
from channels.stk.sims import SimKeyRing, SimProfile, list_sims, provision
from ledger.agents import Agent, Level, create_agent
from ledger.money import Msisdn
from ledger.operations.context import Clock, utc_now
from ledger.pins import PinKeys
from ledger.platform_accounts import ensure_platform_accounts
from ledger.transfers import Transaction, TransferRequest
from ledger.writer import LedgerWriter


@dataclass(frozen=True, slots=True)
class DemoAgent:
    msisdn: Msisdn
    name: str
    level: Level
    pin: str
    deposit_fen: int
    parent: Msisdn | None


DEMO_AGENTS: Final = (
    DemoAgent(
        Msisdn("8613800000001"), "Chengguan Telecom Hall", Level.LEVEL_1, "111111", 1_000_000, None
    ),
    DemoAgent(
        Msisdn("8613800000002"),
        "Xiaozhuang Township Store",
        Level.LEVEL_2,
        "222222",
        200_000,
        Msisdn("8613800000001"),
    ),
    DemoAgent(
        Msisdn("8613800000003"),
        "Village Shop No. 3",
        Level.MERCHANT,
        "333333",
        50_000,
        Msisdn("8613800000002"),
    ),
)


DEMO_SIM_SEED: Final = b"aircharge demo sim v1"  # published: demo SIMs are demo secrets
DEMO_LANGUAGE: Final = "zh-CN"  # the demo agents' language (create_agent's default)
SIMS_DIR: Final = "sims"


def demo_sim(msisdn: str) -> tuple[str, SimKeys]:
    """A demo agent's SIM id and keys, the same at every seeding."""

    def derive(label: str) -> bytes:
        return hmac.new(DEMO_SIM_SEED, f"{label}:{msisdn}".encode(), hashlib.sha256).digest()

    sim_id = derive("sim").hex()[:sim_id_chars]
    return sim_id, SimKeys(derive("kic")[:key_bytes], derive("kid")[:key_bytes])


def demo_sim_profiles(service_number: str) -> list[SimProfile]:
    """The demo agents' SIM profiles as `aircharge stk provision` would write them."""
    profiles = []
    for demo in DEMO_AGENTS:
        sim_id, keys = demo_sim(demo.msisdn)
        profiles.append(SimProfile(sim_id, demo.msisdn, service_number, keys, 0, DEMO_LANGUAGE))
    return profiles


def write_demo_sim_profiles(data_dir: Path, service_number: str) -> Path:
    """`<data_dir>/sims/<msisdn>.json` for each demo agent (mode 0600); the directory."""
    directory = data_dir / SIMS_DIR
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for profile in demo_sim_profiles(service_number):
        write_private(directory / f"{profile.msisdn}.json", profile.to_json())
    return directory


async def seed_demo_sims(engine: AsyncEngine, pin_keys: PinKeys, now_ms: int) -> None:
    """Provision each demo agent's demo SIM unless the agent has had a SIM already (seeding
    again changes nothing, and never retires a SIM issued since)."""
    ring = SimKeyRing(pin_keys)
    issued = {sim.msisdn for sim in await list_sims(engine)}
    for demo in DEMO_AGENTS:
        if demo.msisdn in issued:
            continue
        sim_id, keys = demo_sim(demo.msisdn)
        await provision(
            engine, ring, demo.msisdn, service_number="", now_ms=now_ms, sim_id=sim_id, keys=keys
        )


async def migrated_demo_database(database: DatabaseConfig, pin_keys: PinKeys) -> None:
    """Bring the schema up to date and add the demo agents (the demo and the channel benches)."""
    engine = create_engine(database)
    try:
        await upgrade(engine)
        await seed_demo(engine, pin_keys)
    finally:
        await engine.dispose()


async def seed_demo(engine: AsyncEngine, pin_keys: PinKeys, clock: Clock = utc_now) -> None:
    """Create the demo agents and fund their deposits from the bank (idempotent)."""
    now = clock()
    async with engine.begin() as conn:
        platform = await ensure_platform_accounts(conn, now)
        created: dict[str, Agent] = {}
        for demo in DEMO_AGENTS:
            created[demo.msisdn] = await create_agent(
                conn,
                msisdn=demo.msisdn,
                name=demo.name,
                level=demo.level,
                parent=None if demo.parent is None else created[demo.parent],
                pin=demo.pin,
                pin_keys=pin_keys,
                now=now,
            )
    deposits = tuple(
        TransferRequest.single(
            f"seed:deposit:{demo.msisdn}",
            platform.bank_clearing,
            created[demo.msisdn].deposit_account_id,
            demo.deposit_fen,
            meta={"op": "demo_seed"},
        )
        for demo in DEMO_AGENTS
    )
    writer = LedgerWriter(engine, label="seed-demo", clock=clock)
    await writer.start()
    try:
        (await writer.execute(Transaction(deposits))).unwrap()
    finally:
        await writer.close()
    await seed_demo_sims(engine, pin_keys, clock_ms())
