"""Shared fixtures: a migrated database on SQLite (a file in tmp_path) and on PostgreSQL.

PostgreSQL runs at 127.0.0.1:5432 (trust auth, database `test`); each test gets its own
schema, dropped afterwards. Where PostgreSQL is unreachable its tests are skipped on a
developer machine and fail under CI=true, so CI never passes without them.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from aircharge.config import Config, DatabaseConfig, on_free_ports
from aircharge.database import create_engine, upgrade
from aircharge.demo import DemoStack, start_demo

# `browser_page`: headless Chromium at 128 pixels wide, for the WAP pages (tests/browser.py).
pytest_plugins = ("tests.browser",)

POSTGRES_DSN = os.environ.get(
    "AIRCHARGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


def postgres_available() -> bool:
    async def probe() -> None:
        conn = await asyncpg.connect(POSTGRES_DSN, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    return True


_POSTGRES = postgres_available()


def require_postgres() -> None:
    if _POSTGRES:
        return
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI and did not answer at {POSTGRES_DSN}")
    pytest.skip(f"PostgreSQL not reachable at {POSTGRES_DSN}")


async def _postgres_engine(schema: str) -> AsyncEngine:
    admin = await asyncpg.connect(POSTGRES_DSN)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await admin.close()
    url = POSTGRES_DSN.replace("postgresql://", "postgresql+asyncpg://", 1)
    return create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})


async def _drop_schema(schema: str) -> None:
    admin = await asyncpg.connect(POSTGRES_DSN)
    try:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await admin.close()


@asynccontextmanager
async def migrated_engine(kind: str, directory: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated, empty database: a SQLite file in `directory`, or a fresh PostgreSQL schema."""
    if kind == "sqlite":
        path = directory / f"t-{secrets.token_hex(4)}.db"
        created = create_engine(DatabaseConfig(url=f"sqlite+aiosqlite:///{path}"))
        schema = None
    else:
        require_postgres()
        schema = f"t_{secrets.token_hex(6)}"
        created = await _postgres_engine(schema)
    try:
        await upgrade(created)
        yield created
    finally:
        await created.dispose()
        if schema is not None:
            await _drop_schema(schema)


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated, empty database of each kind."""
    async with migrated_engine(request.param, tmp_path) as created:
        yield created


def loopback_config(**sections: Any) -> Config:
    """The demo's configuration with every listener on a free port, so tests run side by
    side; `sections` replace whole sections (`ussd=UssdConfig(...)`)."""
    return on_free_ports(Config(**sections))


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[DemoStack]:
    """A fresh demo world on free ports, its SMPP link bound."""
    stack = await start_demo(loopback_config(), tmp_path / "demo")
    try:
        if stack.platform.sms is not None:
            await stack.platform.sms.link.wait_up(5_000)
        yield stack
    finally:
        await stack.close()
