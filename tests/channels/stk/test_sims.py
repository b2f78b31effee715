"""Service SIMs: provisioned for active agents only, keys wrapped at rest, the CLI an operator
uses (real processes, a real SQLite file), the demo's SIMs."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from aircharge.demo_data import demo_sim, write_demo_sim_profiles
from channels.schema import stk_sims
from channels.stk.secure import SimKeys, open_sealed, parse, protect
from channels.stk.sims import (
    ProvisionError,
    SimKeyError,
    SimKeyRing,
    find_sim,
    list_sims,
    provision,
)
from ledger.agents import find_agent, set_status
from ledger.money import Msisdn
from ledger.pins import PinKeys
from tests.channels.stk.rig import NOW_MS, RING
from tests.ledger.conftest import PIN_KEYS, open_world

MERCHANT = Msisdn("8613800000003")
AIRCHARGE = [sys.executable, "-m", "aircharge"]


async def test_keys_are_stored_wrapped_and_open_only_under_the_pin_key(
    engine: AsyncEngine,
) -> None:
    async with open_world(engine):
        profile, _ = await provision(engine, RING, MERCHANT, service_number="1888", now_ms=NOW_MS)
    async with engine.connect() as conn:
        query = select(stk_sims).where(stk_sims.c.sim_id == profile.sim_id)
        row = (await conn.execute(query)).one()
    stored = " ".join(str(value) for value in row)
    for key in (profile.keys.kic, profile.keys.kid):
        assert key.hex() not in stored
        assert key.hex().upper() not in stored
    sim = await find_sim(engine, RING, profile.sim_id)
    assert sim is not None
    assert (sim.keys, sim.msisdn, sim.last_counter, sim.active) == (profile.keys, MERCHANT, 0, True)
    with pytest.raises(SimKeyError, match="does not open"):
        await find_sim(engine, SimKeyRing(PinKeys.single(b"another key")), profile.sim_id)
    dropped = SimKeyRing(PinKeys.single(b"new key", "k2"))  # a rotation that dropped k1
    with pytest.raises(SimKeyError, match="not configured"):
        await find_sim(engine, dropped, profile.sim_id)


async def test_a_rotated_pin_key_still_opens_earlier_sims(engine: AsyncEngine) -> None:
    old = PinKeys.single(b"first key", "k1")
    async with open_world(engine):
        profile, _ = await provision(
            engine, SimKeyRing(old), MERCHANT, service_number="1888", now_ms=NOW_MS
        )
    rotated = SimKeyRing(PinKeys("k2", {"k2": b"second key", "k1": b"first key"}))
    sim = await find_sim(engine, rotated, profile.sim_id)
    assert sim is not None
    assert sim.keys == profile.keys


async def test_only_active_agents_get_a_sim_and_a_new_one_retires_the_old(
    engine: AsyncEngine,
) -> None:
    async with open_world(engine):
        with pytest.raises(ProvisionError, match="not an agent's number"):
            await provision(
                engine, RING, Msisdn("8613900000001"), service_number="1888", now_ms=NOW_MS
            )
        first, _ = await provision(engine, RING, MERCHANT, service_number="1888", now_ms=NOW_MS)
        second, retired = await provision(
            engine, RING, MERCHANT, service_number="1888", now_ms=NOW_MS + 1
        )
        assert first.sim_id in retired
        states = {s.sim_id: s.status for s in await list_sims(engine)}
        assert (states[first.sim_id], states[second.sim_id]) == ("retired", "active")
        async with engine.begin() as conn:
            await set_status_suspended(conn)
        with pytest.raises(ProvisionError, match="not active"):
            await provision(engine, RING, MERCHANT, service_number="1888", now_ms=NOW_MS)


async def set_status_suspended(conn: AsyncConnection) -> None:
    agent = await find_agent(conn, MERCHANT)
    assert agent is not None
    await set_status(conn, agent, "suspended", by="test", now=datetime(2026, 11, 26, tzinfo=UTC))


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AIRCHARGE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


def test_the_provision_cli_writes_a_private_profile_and_retires_the_old_sim(
    tmp_path: Path,
) -> None:
    env = {"AIRCHARGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"}
    for step in (("db", "upgrade"), ("db", "seed-demo")):
        done = run(*step, env=env)
        assert done.returncode == 0, done.stderr
    refused = run("stk", "provision", "--msisdn", "13900000001", env=env)
    assert refused.returncode == 1
    assert "8613900000001 is not an agent's number" in refused.stderr
    nowhere = tmp_path / "missing" / "sim.json"
    lost = run("stk", "provision", "--msisdn", "13800000003", "--out", str(nowhere), env=env)
    assert lost.returncode == 1
    assert "No such file or directory" in lost.stderr  # and no SIM issued: the demo one stays
    out = tmp_path / "sim.json"
    made = run("stk", "provision", "--msisdn", "138 0000 0003", "--out", str(out), env=env)
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    profile = json.loads(out.read_text(encoding="utf-8"))
    assert set(profile) == {
        "sim_id", "msisdn", "service_number", "kic", "kid", "counter", "language"
    }  # fmt: skip
    assert (profile["msisdn"], profile["service_number"], profile["counter"]) == (
        "8613800000003",
        "1888",
        0,
    )
    demo_id, _ = demo_sim("8613800000003")
    assert f"retired {demo_id}" in made.stderr  # the seeded demo SIM
    again = run("stk", "provision", "--msisdn", "13800000003", env=env)  # to stdout
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["sim_id"] != profile["sim_id"]
    listed = run("stk", "list", env=env).stdout
    assert f"{profile['sim_id']}  8613800000003    retired" in listed
    retired = run("stk", "retire", "--sim", json.loads(again.stdout)["sim_id"], env=env)
    assert retired.returncode == 0, retired.stderr
    twice = run("stk", "retire", "--sim", json.loads(again.stdout)["sim_id"], env=env)
    assert twice.returncode == 1
    assert "no active SIM" in twice.stderr
    assert profile["kic"] not in listed


async def test_the_demo_sims_are_seeded_and_their_profiles_seal_for_them(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with open_world(engine):  # seeds the demo, SIMs included
        pass
    directory = write_demo_sim_profiles(tmp_path, "1888")
    profile = json.loads((directory / "8613800000003.json").read_text(encoding="utf-8"))
    assert stat.S_IMODE((directory / "8613800000003.json").stat().st_mode) == 0o600
    keys = SimKeys(bytes.fromhex(profile["kic"]), bytes.fromhex(profile["kid"]))
    sim = await find_sim(engine, SimKeyRing(PIN_KEYS), profile["sim_id"])
    assert sim is not None
    assert (sim.active, sim.msisdn) == (True, "8613800000003")
    sealed = parse(protect("BAL 333333", profile["sim_id"], 1, keys))
    assert open_sealed(sealed, sim.keys) == "BAL 333333"
