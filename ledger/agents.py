"""Agents (level-1, level-2, merchant): the tree, their accounts, and their stored PINs
(the scheme is `ledger.pins`; wrong-PIN counting and lockout are `ledger.operations.auth`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any, Final

from sqlalchemy import Connection, Row, String, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger import audit
from ledger.accounts import AccountFlag, create_account, get_accounts
from ledger.money import AccountId, Msisdn
from ledger.pins import PinKeys, hash_pin, is_pin
from ledger.schema import agents

AGENT_STATUSES = ("active", "suspended", "closed")


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
    pin_failures: int = 0
    pin_locked_until: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"


def agent_from_row(row: Mapping[Any, Any]) -> Agent:
    """An agent from its `agents` row's columns, by name."""
    return Agent(
        id=row["id"],
        msisdn=Msisdn(row["msisdn"]),
        name=row["name"],
        level=Level(row["level"]),
        parent_id=row["parent_id"],
        status=row["status"],
        language=row["language"],
        deposit_account_id=AccountId(row["deposit_account_id"]),
        commission_account_id=AccountId(row["commission_account_id"]),
        pin_hash=row["pin_hash"],
        pin_failures=row["pin_failures"],
        pin_locked_until=row["pin_locked_until"],
    )


# Built once: an agent is looked up by number on every SMS and USSD dial, and building the
# select cost more than running it on the loop's thread.
_BY_MSISDN: Final = select(agents).where(agents.c.msisdn == bindparam("msisdn", type_=String))


def _agent(row: Row[Any]) -> Agent:
    return agent_from_row(row._mapping)


async def find_agent(conn: AsyncConnection, msisdn: Msisdn) -> Agent | None:
    row = (await conn.execute(_BY_MSISDN, {"msisdn": msisdn})).first()
    return None if row is None else _agent(row)


def find_agent_now(conn: Connection, msisdn: Msisdn) -> Agent | None:
    """`find_agent` on a synchronous connection (`ledger.sqlite.LoopReader`)."""
    row = conn.execute(_BY_MSISDN, {"msisdn": msisdn}).first()
    return None if row is None else _agent(row)


async def get_agent(conn: AsyncConnection, agent_id: int) -> Agent | None:
    row = (await conn.execute(select(agents).where(agents.c.id == agent_id))).first()
    return None if row is None else _agent(row)


async def ancestors(conn: AsyncConnection, agent: Agent) -> list[Agent]:
    """The agents above `agent`, nearest first (at most two: the tree has three levels)."""
    found: list[Agent] = []
    parent_id = agent.parent_id
    while parent_id is not None and len(found) < len(Level):
        parent = await get_agent(conn, parent_id)
        if parent is None:
            break
        found.append(parent)
        parent_id = parent.parent_id
    return found


async def create_agent(
    conn: AsyncConnection,
    *,
    msisdn: Msisdn,
    name: str,
    level: Level,
    parent: Agent | None,
    pin: str,
    pin_keys: PinKeys,
    now: datetime,
    language: str = "zh-CN",
) -> Agent:
    """Register an agent with its deposit and commission accounts (idempotent by MSISDN)."""
    existing = await find_agent(conn, msisdn)
    if existing is not None:
        return existing
    if not is_pin(pin):
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
            pin_hash=hash_pin(pin_keys, msisdn, pin),
            language=language,
            deposit_account_id=deposit,
            commission_account_id=commission,
            created_at=now,
        )
    )
    agent = await find_agent(conn, msisdn)
    assert agent is not None
    return agent


class TreeError(ValueError):
    """A change that would break the agent tree, or an agent in the wrong state for it."""


async def children(conn: AsyncConnection, agent: Agent) -> list[Agent]:
    rows = await conn.execute(select(agents).where(agents.c.parent_id == agent.id))
    return [_agent(row) for row in rows]


async def set_status(
    conn: AsyncConnection, agent: Agent, status: str, *, by: str, now: datetime
) -> Agent:
    """Suspend (`suspended`), reactivate (`active`) or close (`closed`) an agent, audited.
    A closed agent stays closed; closing needs empty accounts and no agent below."""
    if status not in AGENT_STATUSES:
        raise TreeError(f"an agent's status is one of {AGENT_STATUSES}, not {status!r}")
    if agent.status == "closed":
        raise TreeError(f"agent {agent.msisdn} is closed")
    if status == "closed":
        if await children(conn, agent):
            raise TreeError(f"agent {agent.msisdn} still has agents under it; move them first")
        held = await get_accounts(conn, [agent.deposit_account_id, agent.commission_account_id])
        if any(account.balance or account.debits_pending for account in held.values()):
            raise TreeError(f"agent {agent.msisdn} still holds money; take it back first")
    await conn.execute(update(agents).where(agents.c.id == agent.id).values(status=status))
    await audit.record(
        conn,
        at=now,
        actor=by,
        action=f"agent_{status}",
        subject=agent.msisdn,
        detail={"was": agent.status},
    )
    found = await get_agent(conn, agent.id)
    assert found is not None
    return found


async def move_agent(
    conn: AsyncConnection, agent: Agent, new_parent: Agent, *, by: str, now: datetime
) -> Agent:
    """Put `agent` under another agent of the level just above its own, audited."""
    if agent.level == Level.LEVEL_1:
        raise TreeError("a level-1 agent has no parent to change")
    if new_parent.level != agent.level - 1:
        raise TreeError(
            f"a level-{agent.level} agent sits under a level-{agent.level - 1} agent,"
            f" not a level-{new_parent.level} one"
        )
    if new_parent.status == "closed":
        raise TreeError(f"agent {new_parent.msisdn} is closed")
    await conn.execute(
        update(agents).where(agents.c.id == agent.id).values(parent_id=new_parent.id)
    )
    old = None if agent.parent_id is None else await get_agent(conn, agent.parent_id)
    await audit.record(
        conn,
        at=now,
        actor=by,
        action="agent_moved",
        subject=agent.msisdn,
        detail={"from": None if old is None else old.msisdn, "to": new_parent.msisdn},
    )
    found = await get_agent(conn, agent.id)
    assert found is not None
    return found
