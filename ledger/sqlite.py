"""How the ledger opens SQLite: for the async engine, and for its writer's own thread.

Every connection: WAL, `synchronous=FULL` unless configured NORMAL (the risk of NORMAL is in
docs/ledger.md), foreign keys on, a busy timeout, and every transaction BEGIN IMMEDIATE, so
two writers never deadlock upgrading a read lock (pysqlite's own BEGIN handling is switched
off for that, per SQLAlchemy's recipe) — except on `reader(engine)`, whose transactions only
read: they BEGIN DEFERRED and so take no lock at all (a WAL reader reads its snapshot while
the writer commits). With IMMEDIATE, every read queued for SQLite's one write lock behind
every commit, and the busy handler's sleeps between tries made a 0.6 ms SELECT cost 70 ms
at the median under load (docs/performance.md). A transaction that reads and then writes
must stay on the engine itself: a deferred one that tries to write after another
connection committed fails with SQLITE_BUSY_SNAPSHOT instead of waiting.

The journal writer commits a whole batch — BEGIN … COMMIT — as one job on a thread of its
own (`ledger.jobs`), over `thread_twin(engine)`: a synchronous SQLAlchemy engine (pysqlite)
on the same file with the same settings. Through aiosqlite every statement is its own hop to
the driver's thread and back, and it offers no public way to run a function on that thread;
as one job, the commit's I/O (the driver releases the GIL) overlaps the validation of the
next batch on the event loop. The twin's `synchronous` is read from the engine it mirrors,
so the two cannot disagree.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine

busy_timeout_ms: Final = 30_000
READ_ONLY: Final = "ledger_read_only"  # execution option: this connection only reads
SYNCHRONOUS_LEVELS: Final = ("OFF", "NORMAL", "FULL", "EXTRA")  # PRAGMA synchronous 0..3


def configure(engine: Engine, synchronous: str) -> None:
    """Apply the ledger's SQLite settings to every connection `engine` opens."""
    if synchronous not in SYNCHRONOUS_LEVELS:
        raise ValueError(f"synchronous is one of {SYNCHRONOUS_LEVELS}, not {synchronous!r}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def reader(engine: AsyncEngine) -> AsyncEngine:
    """The same engine and pool, for transactions that only read: on SQLite they take no
    lock (see the module docstring); elsewhere nothing changes. Writing through it is a
    programming error (on SQLite it may fail with SQLITE_BUSY_SNAPSHOT)."""
    return engine.execution_options(**{READ_ONLY: True})


async def thread_twin(engine: AsyncEngine) -> Engine | None:
    """A synchronous engine on the same SQLite file and settings, for a writer thread; None
    for PostgreSQL and for in-memory SQLite (which another connection could not see)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    async with engine.connect() as conn:
        level = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar_one()
    twin = create_engine(
        engine.url.set(drivername="sqlite+pysqlite"),
        connect_args={"timeout": busy_timeout_ms / 1000},
        pool_size=1,
        max_overflow=0,
    )
    configure(twin, SYNCHRONOUS_LEVELS[int(level)])
    return twin


def data_version(connection: Connection) -> int:
    """SQLite's counter that changes when another connection commits to the file (and not
    for this connection's own commits): the writer's proof that it was the only writer.
    Asked of the driver's connection directly: it is read once per commit, and through
    SQLAlchemy's result machinery it cost about 70 µs of a 700 µs commit (measured)."""
    driver = connection.connection.driver_connection
    assert driver is not None
    return int(driver.execute("PRAGMA data_version").fetchone()[0])


__all__ = ["READ_ONLY", "busy_timeout_ms", "configure", "data_version", "reader", "thread_twin"]
