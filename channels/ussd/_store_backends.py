"""Where `UssdSessionStore` reads and writes rows: two backends behind one small interface.

- `SqliteBackend` (a SQLite file): two plain `sqlite3` connections of the store's own, each
  on a thread of its own — a reader (statements in autocommit: a WAL reader takes no lock and
  waits for nobody) and a writer that commits a whole group of saves as one `BEGIN
  IMMEDIATE … COMMIT`, with the `synchronous` level of the platform's engine (so a group is
  as durable as a ledger commit). Nothing goes through the SQLAlchemy pool the ledger uses,
  whose connections start every transaction, reads included, with BEGIN IMMEDIATE.
- `EngineBackend` (PostgreSQL, and SQLite in memory): the platform's async engine, a group
  of saves in one transaction.

Why plain `sqlite3` here and not `ledger.jobs` with `ledger.sqlite.LoopReader`, which the SMS
channel uses: a USSD request is a read and a write of one small row, and SQLAlchemy's
statement machinery is most of its cost. Measured with the same bench back to back
(`bench ussd --sessions 100 --journey topup,menu --load-processes 2`): menu journey 3,513
requests/s this way, 1,580 through jobs and the loop reader; top-up journey 1,958 against
1,132.

Every write is conditional, so a group never fails for one stale row: an UPDATE applies
only `WHERE updated_ms = <the version the caller read>`, an INSERT only when the id is free
(`ON CONFLICT DO NOTHING`); each answers whether it applied.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.schema import ussd_sessions

busy_timeout_s: Final = 30.0
SYNCHRONOUS_LEVELS: Final = ("OFF", "NORMAL", "FULL", "EXTRA")  # PRAGMA synchronous 0..3

# The row as both backends hand it over: the table's columns in this order.
COLUMNS: Final = (
    "session_id", "msisdn", "service_code", "state", "consumed", "page", "last_digest",
    "last_reply", "ended", "created_ms", "updated_ms",
)  # fmt: skip
Row = tuple[Any, ...]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Write:
    """One save: insert when `seen` is None, else update the row still at version `seen`."""

    session_id: str
    msisdn: str
    service_code: str
    state: str  # JSON
    consumed: int
    page: int
    last_digest: str
    last_reply: str
    ended: bool
    updated_ms: int
    seen: int | None


class Backend(Protocol):
    async def read(self, session_id: str) -> Row | None: ...
    async def version(self, session_id: str) -> int | None: ...
    async def write(self, batch: Sequence[Write]) -> list[bool]: ...
    async def purge(self, older_than_ms: int) -> int: ...
    async def close(self) -> None: ...


# Fixed statements built from the constant column list (no input reaches their text).
_SELECT: Final = f"SELECT {', '.join(COLUMNS)} FROM ussd_sessions WHERE session_id = ?"  # noqa: S608
_VERSION: Final = "SELECT updated_ms FROM ussd_sessions WHERE session_id = ?"
_INSERT: Final = (
    f"INSERT INTO ussd_sessions ({', '.join(COLUMNS)})"  # noqa: S608
    f" VALUES ({', '.join('?' * len(COLUMNS))}) ON CONFLICT (session_id) DO NOTHING"
)
_UPDATE: Final = (
    "UPDATE ussd_sessions SET msisdn = ?, state = ?, consumed = ?, page = ?, last_digest = ?,"
    " last_reply = ?, ended = ?, updated_ms = ? WHERE session_id = ? AND updated_ms = ?"
)
_PURGE: Final = "DELETE FROM ussd_sessions WHERE updated_ms < ?"


class _Worker:
    """One thread owning one sqlite3 connection; `run(fn)` runs `fn(connection)` there."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], name: str) -> None:
        self._connect = connect
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._connection: sqlite3.Connection | None = None

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._connection is None:
            self._connection = self._connect()
        return fn(self._connection)

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn)

    async def close(self) -> None:
        def shut(connection: sqlite3.Connection) -> None:
            connection.close()

        if self._connection is not None:
            await self.run(shut)
            self._connection = None
        self._executor.shutdown(wait=True)


def _write_group(batch: Sequence[Write], connection: sqlite3.Connection) -> list[bool]:
    applied: list[bool] = []
    connection.execute("BEGIN IMMEDIATE")
    try:
        for w in batch:
            if w.seen is None:
                cursor = connection.execute(
                    _INSERT,
                    (
                        w.session_id, w.msisdn, w.service_code, w.state, w.consumed, w.page,
                        w.last_digest, w.last_reply, w.ended, w.updated_ms, w.updated_ms,
                    ),
                )  # fmt: skip
            else:
                cursor = connection.execute(
                    _UPDATE,
                    (
                        w.msisdn, w.state, w.consumed, w.page, w.last_digest, w.last_reply,
                        w.ended, w.updated_ms, w.session_id, w.seen,
                    ),
                )  # fmt: skip
            applied.append(cursor.rowcount == 1)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return applied


class SqliteBackend:
    def __init__(self, path: str, synchronous: str) -> None:
        assert synchronous in SYNCHRONOUS_LEVELS, synchronous

        def connect() -> sqlite3.Connection:
            connection = sqlite3.connect(
                path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            connection.execute(f"PRAGMA synchronous={synchronous}")
            connection.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            return connection

        self._reader = _Worker(connect, "ussd-store-reader")
        self._writer = _Worker(connect, "ussd-store-writer")

    @classmethod
    async def for_engine(cls, engine: AsyncEngine) -> SqliteBackend | None:
        """A backend on the file of `engine` with its `synchronous` level; None when the engine
        is not SQLite on a file (another connection could not see an in-memory database)."""
        if engine.dialect.name != "sqlite":
            return None
        database = engine.url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        async with engine.connect() as conn:
            level = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar_one()
        return cls(database, SYNCHRONOUS_LEVELS[int(level)])

    async def read(self, session_id: str) -> Row | None:
        def job(connection: sqlite3.Connection) -> Row | None:
            row: Row | None = connection.execute(_SELECT, (session_id,)).fetchone()
            return row

        return await self._reader.run(job)

    async def version(self, session_id: str) -> int | None:
        def job(connection: sqlite3.Connection) -> int | None:
            row = connection.execute(_VERSION, (session_id,)).fetchone()
            return None if row is None else int(row[0])

        return await self._reader.run(job)

    async def write(self, batch: Sequence[Write]) -> list[bool]:
        return await self._writer.run(lambda connection: _write_group(batch, connection))

    async def purge(self, older_than_ms: int) -> int:
        def job(connection: sqlite3.Connection) -> int:
            connection.execute("BEGIN IMMEDIATE")
            try:
                count = connection.execute(_PURGE, (older_than_ms,)).rowcount
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            return count

        return await self._writer.run(job)

    async def close(self) -> None:
        await self._reader.close()
        await self._writer.close()


class EngineBackend:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite_dialect
        self._insert = dialect.insert

    async def read(self, session_id: str) -> Row | None:
        columns = [ussd_sessions.c[name] for name in COLUMNS]
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(*columns).where(ussd_sessions.c.session_id == session_id))
            ).first()
        return None if row is None else tuple(row)

    async def version(self, session_id: str) -> int | None:
        async with self._engine.connect() as conn:
            value = (
                await conn.execute(
                    select(ussd_sessions.c.updated_ms).where(
                        ussd_sessions.c.session_id == session_id
                    )
                )
            ).scalar_one_or_none()
        return None if value is None else int(value)

    async def write(self, batch: Sequence[Write]) -> list[bool]:
        applied: list[bool] = []
        async with self._engine.begin() as conn:
            for w in batch:
                values = {
                    "msisdn": w.msisdn,
                    "state": w.state,
                    "consumed": w.consumed,
                    "page": w.page,
                    "last_digest": w.last_digest,
                    "last_reply": w.last_reply,
                    "ended": w.ended,
                    "updated_ms": w.updated_ms,
                }
                if w.seen is None:
                    statement: Any = (
                        self._insert(ussd_sessions)
                        .values(
                            session_id=w.session_id,
                            service_code=w.service_code,
                            created_ms=w.updated_ms,
                            **values,
                        )
                        .on_conflict_do_nothing(index_elements=["session_id"])
                    )
                else:
                    statement = (
                        update(ussd_sessions)
                        .where(
                            ussd_sessions.c.session_id == w.session_id,
                            ussd_sessions.c.updated_ms == w.seen,
                        )
                        .values(**values)
                    )
                result = await conn.execute(statement)
                applied.append(result.rowcount == 1)
        return applied

    async def purge(self, older_than_ms: int) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(ussd_sessions).where(ussd_sessions.c.updated_ms < older_than_ms)
            )
        return int(result.rowcount)

    async def close(self) -> None:
        return None
