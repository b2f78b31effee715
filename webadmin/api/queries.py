"""The reads behind `/api/v1`, in SQLAlchemy Core, the same on SQLite and PostgreSQL.

Each answer costs a fixed number of statements whatever its size: an agent is one select
(its parent joined for the parent's number) plus one for both balances; a page of
operations is one select with the acting agent joined for its number. Nothing here writes.

Operation pages are ordered by `(created_at, id)` — `id` breaks ties between operations
recorded in the same microsecond — and continue strictly after a cursor on that key.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.accounts import Account, get_accounts
from ledger.agents import Level
from ledger.money import AccountId, Msisdn
from ledger.schema import agents, operations
from webadmin.api.params import Cursor


@dataclass(frozen=True, slots=True)
class AgentView:
    msisdn: Msisdn
    name: str
    level: Level
    parent_msisdn: Msisdn | None
    status: str
    language: str
    deposit: Account
    commission: Account


async def agent_view(conn: AsyncConnection, number: Msisdn) -> AgentView | None:
    parent = agents.alias("parent")
    query = (
        select(
            agents.c.msisdn,
            agents.c.name,
            agents.c.level,
            agents.c.status,
            agents.c.language,
            agents.c.deposit_account_id,
            agents.c.commission_account_id,
            parent.c.msisdn.label("parent_msisdn"),
        )
        .select_from(agents.outerjoin(parent, agents.c.parent_id == parent.c.id))
        .where(agents.c.msisdn == number)
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    deposit_id = AccountId(row.deposit_account_id)
    commission_id = AccountId(row.commission_account_id)
    balances = await get_accounts(conn, [deposit_id, commission_id])
    return AgentView(
        msisdn=Msisdn(row.msisdn),
        name=row.name,
        level=Level(row.level),
        parent_msisdn=None if row.parent_msisdn is None else Msisdn(row.parent_msisdn),
        status=row.status,
        language=row.language,
        deposit=balances[deposit_id],
        commission=balances[commission_id],
    )


class Order(enum.Enum):
    NEWEST_FIRST = "newest_first"
    OLDEST_FIRST = "oldest_first"


@dataclass(frozen=True, slots=True)
class OperationItem:
    id: int  # the row id: part of the cursor, not shown
    ref: str
    kind: str
    channel: str
    agent_msisdn: Msisdn | None
    msisdn: Msisdn
    amount_fen: int
    state: str
    reason: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OperationFilter:
    """Conditions that all hold (None: not filtered on)."""

    agent: Msisdn | None = None
    msisdn: Msisdn | None = None
    since: datetime | None = None
    states: tuple[str, ...] | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.agent is not None:
            found.append(agents.c.msisdn == self.agent)
        if self.msisdn is not None:
            found.append(operations.c.msisdn == self.msisdn)
        if self.since is not None:
            found.append(operations.c.created_at >= self.since)
        if self.states is not None:
            found.append(operations.c.state.in_(self.states))
        return found


def _after(cursor: Cursor, order: Order) -> ColumnElement[bool]:
    """Strictly past the cursor's key in the listing's direction (written out rather than
    as a row-value comparison, which not every backend plans or types the same way)."""
    at, row_id = operations.c.created_at, operations.c.id
    if order is Order.NEWEST_FIRST:
        return or_(at < cursor.created_at, and_(at == cursor.created_at, row_id < cursor.id))
    return or_(at > cursor.created_at, and_(at == cursor.created_at, row_id > cursor.id))


async def operation_page(
    conn: AsyncConnection,
    where: OperationFilter,
    order: Order,
    limit: int,
    after: Cursor | None,
) -> tuple[list[OperationItem], bool]:
    """Up to `limit` operations matching `where` past `after`; and whether more follow."""
    assert limit > 0, limit
    conditions = where.conditions()
    if after is not None:
        conditions.append(_after(after, order))
    keys = (operations.c.created_at, operations.c.id)
    ordering = [key.desc() if order is Order.NEWEST_FIRST else key.asc() for key in keys]
    query = (
        select(
            operations.c.id,
            operations.c.ref,
            operations.c.kind,
            operations.c.channel,
            agents.c.msisdn.label("agent_msisdn"),
            operations.c.msisdn,
            operations.c.amount,
            operations.c.state,
            operations.c.reason,
            operations.c.created_at,
            operations.c.updated_at,
        )
        .select_from(operations.outerjoin(agents, operations.c.agent_id == agents.c.id))
        .where(*conditions)
        .order_by(*ordering)
        .limit(limit + 1)  # one more than asked tells whether another page follows
    )
    rows = (await conn.execute(query)).all()
    return [_item(row) for row in rows[:limit]], len(rows) > limit


def _item(row: Row[*tuple[Any, ...]]) -> OperationItem:
    return OperationItem(
        id=row.id,
        ref=row.ref,
        kind=row.kind,
        channel=row.channel,
        agent_msisdn=None if row.agent_msisdn is None else Msisdn(row.agent_msisdn),
        msisdn=Msisdn(row.msisdn),
        amount_fen=row.amount,
        state=row.state,
        reason=row.reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
