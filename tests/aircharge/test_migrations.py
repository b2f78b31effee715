"""The Alembic history builds exactly the schema the code declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from aircharge.database import METADATA, upgrade


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
