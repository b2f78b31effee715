"""The Alembic history builds exactly the schema the code declares, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from aircharge.database import METADATA, upgrade
from ledger.schema import OPERATION_STATES, operations


async def test_migrations_match_the_declared_tables(engine: AsyncEngine) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        # a list of MetaData is supported at run time; the stub names only one
        return list(compare_metadata(context, list(METADATA)))  # type: ignore[arg-type]

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_upgrade_is_idempotent(engine: AsyncEngine) -> None:
    await upgrade(engine)
    await upgrade(engine)


async def test_operation_states_are_checked_by_the_database(engine: AsyncEngine) -> None:
    now = datetime(2026, 11, 26, tzinfo=UTC)
    row = {
        "key": "k",
        "request_hash": "h",
        "kind": "topup",
        "channel": "test",
        "msisdn": "8613900000001",
        "amount": 100,
        "created_at": now,
        "updated_at": now,
    }
    async with engine.begin() as conn:
        for n, state in enumerate(OPERATION_STATES):
            await conn.execute(
                insert(operations).values({**row, "ref": f"r{n}", "key": f"k{n}", "state": state})
            )
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(operations).values({**row, "ref": "bad", "state": "lost"}))
