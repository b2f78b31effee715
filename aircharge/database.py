"""The database engine for SQLite (embedded default) and PostgreSQL, and migrations.

SQLite: the ledger's settings (`ledger.sqlite`: WAL, `synchronous=FULL` unless configured
NORMAL, foreign keys, BEGIN IMMEDIATE).
PostgreSQL: asyncpg through SQLAlchemy. One Alembic history creates both the ledger's and
the channels' tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, MetaData
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from aircharge.config import DatabaseConfig
from channels.schema import metadata as channels_metadata
from ledger import sqlite as ledger_sqlite
from ledger.schema import metadata as ledger_metadata

MIGRATIONS: Final = Path(__file__).parent / "migrations"
METADATA: Final[tuple[MetaData, ...]] = (ledger_metadata, channels_metadata)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(config: DatabaseConfig, *, schema: str | None = None) -> AsyncEngine:
    """An engine for the configured database; `schema` (PostgreSQL only) sets the search path,
    which tests and benchmarks use to get a private, disposable namespace."""
    if not is_sqlite(config.url):
        settings = {"server_settings": {"search_path": schema}} if schema else {}
        return create_async_engine(
            config.url, pool_size=10, max_overflow=10, pool_pre_ping=True, connect_args=settings
        )
    assert schema is None, "schemas are a PostgreSQL notion"
    engine = create_async_engine(config.url, connect_args={"timeout": 30})
    ledger_sqlite.configure(engine.sync_engine, config.sqlite_synchronous)
    return engine


def alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent)."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)
