"""The database engine for SQLite (embedded default) and PostgreSQL, and migrations.

SQLite: WAL, `synchronous=FULL` unless configured NORMAL, foreign keys on, and every
transaction begins IMMEDIATE so two writers never deadlock upgrading a read lock (the
pysqlite driver's own BEGIN handling is switched off for that, per SQLAlchemy's recipe).
PostgreSQL: asyncpg through SQLAlchemy. One Alembic history creates both the ledger's and
the channels' tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, MetaData, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from aircharge.config import DatabaseConfig
from channels.schema import metadata as channels_metadata
from ledger.schema import metadata as ledger_metadata

MIGRATIONS: Final = Path(__file__).parent / "migrations"
METADATA: Final[tuple[MetaData, ...]] = (ledger_metadata, channels_metadata)
sqlite_busy_timeout_ms: Final = 30_000


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
    synchronous = config.sqlite_synchronous

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={sqlite_busy_timeout_ms}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

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
