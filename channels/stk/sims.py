"""Service SIMs: provisioned per agent, their STK1 keys wrapped at rest, their counters.

A SIM is created for an active agent (`provision`), which retires the agent's earlier SIM in
the same transaction: an agent has one active SIM, and a card that was replaced (lost, stolen,
re-issued) is refused from then on. The profile handed to the card (and to the simulator's
SIM) is `SimProfile.to_json()`, the format of `docs/stk.md`.

Keys at rest: KIc and KID are secrets as good as the agent's PIN plus the SIM in hand, so the
table holds them only wrapped — AES-GCM under a key derived (HKDF-SHA256, info
`wrap_info`) from the platform's PIN key (`secrets.pin_key`), with the SIM id and the key's
name as associated data, so a wrapped key copied onto another row does not open. The row
names the PIN key id it was wrapped under; the key ring keeps retired PIN keys (the
`secrets.retired_pin_keys` of a rotation), so SIMs provisioned before a rotation still open.
A database dump alone does not give the keys away.

Counters: `claim` advances a SIM's last accepted counter inside the transaction that stores
the MO carrying it (`channels.sms.store.write_mos`), and only upwards, so the advance and the
acceptance are one commit. The keyed digest of the accepting text is kept with it: the same
SMS delivered again is a re-delivery, any other message with that counter a replay.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.schema import stk_sims
from channels.stk.secure import SimKeys, key_bytes, sim_id_chars
from ledger.agents import find_agent
from ledger.money import Msisdn
from ledger.pins import PinKeys

wrap_info: Final = b"aircharge stk sim keys v1"
nonce_bytes: Final = 12
ACTIVE: Final = "active"
RETIRED: Final = "retired"

# What `claim` answers besides "accepted" (None): the MO is stored `ignored` with it.
CLAIM_REDELIVERY: Final = "redelivery"  # this very text was accepted with this counter
CLAIM_OLD_COUNTER: Final = "stk_old_counter"  # not above the last accepted counter
CLAIM_INACTIVE: Final = "stk_retired_sim"  # retired (or gone) since the checks before storing


class ProvisionError(Exception):
    """A SIM cannot be provisioned or retired; the message says why (the operator's input)."""


class SimKeyError(Exception):
    """A SIM's wrapped keys do not open: the PIN key they were wrapped under is not in the
    configured key ring (a rotation that dropped it), or the row was altered."""


class SimKeyRing:
    """Wraps and unwraps SIM keys under keys derived from the PIN key ring."""

    def __init__(self, pin_keys: PinKeys) -> None:
        self._current = pin_keys.current_id
        self._aeads = {key_id: AESGCM(_derive(key)) for key_id, key in pin_keys.keys.items()}

    def wrap(self, sim_id: str, label: str, key: bytes) -> tuple[str, str]:
        """(key id, base64 of nonce || ciphertext || tag)."""
        nonce = secrets.token_bytes(nonce_bytes)
        sealed = self._aeads[self._current].encrypt(nonce, key, _aad(sim_id, label))
        return self._current, base64.b64encode(nonce + sealed).decode("ascii")

    def unwrap(self, key_id: str, sim_id: str, label: str, wrapped: str) -> bytes:
        aead = self._aeads.get(key_id)
        if aead is None:
            raise SimKeyError(f"SIM {sim_id}: wrapped under PIN key {key_id!r}, not configured")
        data = base64.b64decode(wrapped)
        try:
            return aead.decrypt(data[:nonce_bytes], data[nonce_bytes:], _aad(sim_id, label))
        except InvalidTag:
            raise SimKeyError(f"SIM {sim_id}: the wrapped {label} does not open") from None


def _derive(pin_key: bytes) -> bytes:
    return HKDF(hashes.SHA256(), length=key_bytes, salt=None, info=wrap_info).derive(pin_key)


def _aad(sim_id: str, label: str) -> bytes:
    return f"stk-sim:{sim_id}:{label}".encode()


@dataclass(frozen=True, slots=True)
class SimProfile:
    """What the card is personalised with (JSON, `docs/stk.md`)."""

    sim_id: str
    msisdn: str
    service_number: str
    keys: SimKeys
    counter: int
    language: str

    def to_json(self) -> str:
        data = {
            "sim_id": self.sim_id,
            "msisdn": self.msisdn,
            "service_number": self.service_number,
            "kic": self.keys.kic.hex(),
            "kid": self.keys.kid.hex(),
            "counter": self.counter,
            "language": self.language,
        }
        return json.dumps(data, indent=2) + "\n"


@dataclass(frozen=True, slots=True)
class Sim:
    """A SIM as the gate checks it (keys unwrapped, in memory only)."""

    sim_id: str
    msisdn: str
    keys: SimKeys
    last_counter: int
    last_digest: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class SimSummary:
    """A SIM as `aircharge stk list` shows it: no keys."""

    sim_id: str
    msisdn: str
    status: str
    last_counter: int
    created_ms: int
    retired_ms: int | None


def new_sim_id() -> str:
    return secrets.token_hex(sim_id_chars // 2)


def new_keys() -> SimKeys:
    while True:  # two equal 128-bit keys will not happen; SimKeys refuses them anyway
        kic, kid = secrets.token_bytes(key_bytes), secrets.token_bytes(key_bytes)
        if kic != kid:
            return SimKeys(kic, kid)


async def provision(
    db: AsyncEngine,
    ring: SimKeyRing,
    msisdn: Msisdn,
    *,
    service_number: str,
    now_ms: int,
    sim_id: str | None = None,
    keys: SimKeys | None = None,
) -> tuple[SimProfile, list[str]]:
    """A new SIM for the active agent `msisdn` (random id and keys unless given, as the demo
    does) and the ids of the SIMs it retired; ProvisionError when the number is no active
    agent's."""
    sim_id = new_sim_id() if sim_id is None else sim_id
    keys = new_keys() if keys is None else keys
    key_id, kic = ring.wrap(sim_id, "kic", keys.kic)
    _, kid = ring.wrap(sim_id, "kid", keys.kid)
    async with db.begin() as conn:
        agent = await find_agent(conn, msisdn)
        if agent is None:
            raise ProvisionError(f"{msisdn} is not an agent's number: SIMs are for agents")
        if not agent.active:
            raise ProvisionError(f"agent {msisdn} is {agent.status}, not active: no SIM issued")
        retired = await conn.execute(
            update(stk_sims)
            .where(stk_sims.c.msisdn == msisdn, stk_sims.c.status == ACTIVE)
            .values(status=RETIRED, retired_ms=now_ms)
            .returning(stk_sims.c.sim_id)
        )
        old = sorted(str(i) for i in retired.scalars().all())
        await conn.execute(
            insert(stk_sims).values(
                sim_id=sim_id,
                msisdn=msisdn,
                key_id=key_id,
                kic=kic,
                kid=kid,
                last_counter=0,
                last_digest=None,
                status=ACTIVE,
                created_ms=now_ms,
                retired_ms=None,
            )
        )
    return SimProfile(sim_id, msisdn, service_number, keys, 0, agent.language), old


async def retire(db: AsyncEngine, sim_id: str, now_ms: int) -> None:
    """Retire one SIM (lost or replaced); ProvisionError when there is no such active SIM."""
    async with db.begin() as conn:
        result = await conn.execute(
            update(stk_sims)
            .where(stk_sims.c.sim_id == sim_id, stk_sims.c.status == ACTIVE)
            .values(status=RETIRED, retired_ms=now_ms)
        )
    if result.rowcount != 1:
        raise ProvisionError(f"no active SIM {sim_id!r} (see `aircharge stk list`)")


async def list_sims(db: AsyncEngine) -> list[SimSummary]:
    query = select(
        stk_sims.c.sim_id,
        stk_sims.c.msisdn,
        stk_sims.c.status,
        stk_sims.c.last_counter,
        stk_sims.c.created_ms,
        stk_sims.c.retired_ms,
    ).order_by(stk_sims.c.msisdn, stk_sims.c.created_ms)
    async with db.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [SimSummary(*row) for row in rows]


async def find_sim(db: AsyncEngine, ring: SimKeyRing, sim_id: str) -> Sim | None:
    async with db.connect() as conn:
        row = (await conn.execute(select(stk_sims).where(stk_sims.c.sim_id == sim_id))).first()
    return None if row is None else _sim(ring, row._mapping)


def _sim(ring: SimKeyRing, row: Any) -> Sim:
    sim_id, key_id = row["sim_id"], row["key_id"]
    keys = SimKeys(
        ring.unwrap(key_id, sim_id, "kic", row["kic"]),
        ring.unwrap(key_id, sim_id, "kid", row["kid"]),
    )
    return Sim(
        sim_id,
        row["msisdn"],
        keys,
        int(row["last_counter"]),
        row["last_digest"],
        row["status"] == ACTIVE,
    )


def claim(conn: Connection, sim_id: str, counter: int, digest: str) -> str | None:
    """Advance `sim_id`'s counter to `counter` inside the caller's transaction, if it is
    active and `counter` is above its last: None. Otherwise what the MO is stored as:
    `CLAIM_REDELIVERY` (this very text holds the last counter), `CLAIM_OLD_COUNTER`,
    `CLAIM_INACTIVE`. One conditional UPDATE: two MOs racing for a counter cannot both win."""
    advanced = conn.execute(
        update(stk_sims)
        .where(
            stk_sims.c.sim_id == sim_id,
            stk_sims.c.status == ACTIVE,
            stk_sims.c.last_counter < counter,
        )
        .values(last_counter=counter, last_digest=digest)
    )
    if advanced.rowcount == 1:
        return None
    query = select(stk_sims.c.status, stk_sims.c.last_counter, stk_sims.c.last_digest).where(
        stk_sims.c.sim_id == sim_id
    )
    row = conn.execute(query).first()
    if row is None or row.status != ACTIVE:
        return CLAIM_INACTIVE
    if row.last_counter == counter and row.last_digest == digest:
        return CLAIM_REDELIVERY
    return CLAIM_OLD_COUNTER


__all__ = [
    "ACTIVE",
    "CLAIM_INACTIVE",
    "CLAIM_OLD_COUNTER",
    "CLAIM_REDELIVERY",
    "RETIRED",
    "ProvisionError",
    "Sim",
    "SimKeyError",
    "SimKeyRing",
    "SimProfile",
    "SimSummary",
    "claim",
    "find_sim",
    "list_sims",
    "new_keys",
    "new_sim_id",
    "provision",
    "retire",
]
