"""Agents (level-1, level-2, merchant), their accounts and PINs.

PINs are six digits, so a slow hash would not stop an attacker who has the table: they are
stored as HMAC-SHA256 under the platform's PIN key (kept outside the database), the way
payment systems keep PINs under a key. A `pin proof` is that same MAC computed at the edge,
so a channel can hold a PIN across dialog steps without storing the PIN itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any

from sqlalchemy import Row, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.accounts import AccountFlag, create_account
from ledger.money import AccountId, Msisdn
from ledger.schema import agents

PIN_SCHEME = "v1"
PIN_PROOF_PREFIX = "pinproof:v1:"
_PIN_SHAPE = re.compile(r"^[0-9]{6}$")


class Level(IntEnum):
    LEVEL_1 = 1
    LEVEL_2 = 2
    MERCHANT = 3


@dataclass(frozen=True, slots=True)
class Agent:
    id: int
    msisdn: Msisdn
    name: str
    level: Level
    parent_id: int | None
    status: str
    language: str
    deposit_account_id: AccountId
    commission_account_id: AccountId
    pin_hash: str

    @property
    def active(self) -> bool:
        return self.status == "active"


def _agent(row: Row[Any]) -> Agent:
    return Agent(
        id=row.id,
        msisdn=Msisdn(row.msisdn),
        name=row.name,
        level=Level(row.level),
        parent_id=row.parent_id,
        status=row.status,
        language=row.language,
        deposit_account_id=AccountId(row.deposit_account_id),
        commission_account_id=AccountId(row.commission_account_id),
        pin_hash=row.pin_hash,
    )


def pin_mac(pin_key: bytes, msisdn: Msisdn, pin: str) -> str:
    """The MAC of an agent's PIN under the platform PIN key (hex)."""
    message = f"pin:{PIN_SCHEME}:{msisdn}:{pin}".encode()
    return hmac.new(pin_key, message, hashlib.sha256).hexdigest()


def pin_proof(pin_key: bytes, msisdn: Msisdn, pin: str) -> str:
    """A credential standing for the PIN, safe to keep in a dialog session."""
    return PIN_PROOF_PREFIX + pin_mac(pin_key, msisdn, pin)


def is_valid_pin(pin: str) -> bool:
    return bool(_PIN_SHAPE.match(pin))


def verify_pin(pin_key: bytes, agent: Agent, credential: str) -> bool:
    """True when `credential` (a PIN or a pin proof) matches the agent's stored PIN."""
    if credential.startswith(PIN_PROOF_PREFIX):
        offered = credential.removeprefix(PIN_PROOF_PREFIX)
    elif is_valid_pin(credential):
        offered = pin_mac(pin_key, agent.msisdn, credential)
    else:
        return False
    stored = agent.pin_hash.removeprefix(f"{PIN_SCHEME}$")
    return hmac.compare_digest(offered, stored)


async def find_agent(conn: AsyncConnection, msisdn: Msisdn) -> Agent | None:
    row = (await conn.execute(select(agents).where(agents.c.msisdn == msisdn))).first()
    return None if row is None else _agent(row)


async def ancestors(conn: AsyncConnection, agent: Agent) -> list[Agent]:
    """The agents above `agent`, nearest first (at most two: the tree has three levels)."""
    found: list[Agent] = []
    parent_id = agent.parent_id
    while parent_id is not None and len(found) < len(Level):
        row = (await conn.execute(select(agents).where(agents.c.id == parent_id))).first()
        if row is None:
            break
        found.append(_agent(row))
        parent_id = row.parent_id
    return found


async def create_agent(
    conn: AsyncConnection,
    *,
    msisdn: Msisdn,
    name: str,
    level: Level,
    parent: Agent | None,
    pin: str,
    pin_key: bytes,
    now: datetime,
    language: str = "zh-CN",
) -> Agent:
    """Register an agent with its deposit and commission accounts (idempotent by MSISDN)."""
    existing = await find_agent(conn, msisdn)
    if existing is not None:
        return existing
    if not is_valid_pin(pin):
        raise ValueError("a PIN is six digits")
    if (parent is None) != (level == Level.LEVEL_1):
        raise ValueError("level-1 agents have no parent; every other agent has one")
    if parent is not None and parent.level >= level:
        raise ValueError(f"a level-{level} agent cannot sit under a level-{parent.level} agent")
    limited = AccountFlag.DEBITS_MUST_NOT_EXCEED_CREDITS
    deposit = await create_account(conn, f"agent:{msisdn}:deposit", "agent_deposit", limited, now)
    commission = await create_account(
        conn, f"agent:{msisdn}:commission", "agent_commission", limited, now
    )
    await conn.execute(
        insert(agents).values(
            msisdn=msisdn,
            name=name,
            level=int(level),
            parent_id=None if parent is None else parent.id,
            status="active",
            pin_hash=f"{PIN_SCHEME}${pin_mac(pin_key, msisdn, pin)}",
            language=language,
            deposit_account_id=deposit,
            commission_account_id=commission,
            created_at=now,
        )
    )
    agent = await find_agent(conn, msisdn)
    assert agent is not None
    return agent
