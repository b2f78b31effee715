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

from collections.abc import Callable
from typing import Any, Final, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine

T = TypeVar("T")

busy_timeout_ms: Final = 30_000
loop_read_busy_timeout_ms: Final = 100  # a WAL read hardly ever waits; never long on the loop
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


class LoopReader:
    """Short indexed reads on the event loop's own thread, through one plain pysqlite
    connection of its own (SQLite files only; `for_engine` answers None otherwise).

    A point read on SQLite costs 50–150 µs of CPU. Through SQLAlchemy async and aiosqlite
    the same read is a greenlet and several hand-offs to the connection's thread and back,
    and under load each hand-off waits for the GIL behind the other threads (the writer's,
    aiosqlite's): measured on the whole top-up, the sale's one read took 26 ms at the mean
    and its wait for a pooled connection most of the rest of 530 ms, and the operation ran at
    ~420/s at concurrency 256; read here, 0.2 ms and ~1,000/s (docs/performance.md, "bench
    ops"). Blocking the loop for a read this short costs less than any hand-off.

    Each `run` is one deferred read transaction (a WAL snapshot: no lock, the writer is never
    waited on), rolled back after. Only for reads that touch a few rows by index: a scan
    would stall every request of the process. The busy timeout is short so that a rare
    SQLITE_BUSY on a read cannot hold the loop.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> LoopReader | None:
        if engine.dialect.name != "sqlite":
            return None
        database = engine.url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        twin = create_engine(
            engine.url.set(drivername="sqlite+pysqlite"), pool_size=1, max_overflow=0
        )

        @event.listens_for(twin, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # BEGIN is issued below, deferred
            dbapi_connection.execute(f"PRAGMA busy_timeout={loop_read_busy_timeout_ms}")

        @event.listens_for(twin, "begin")
        def _on_begin(connection: Any) -> None:
            # On the driver's connection itself: through `exec_driver_sql` SQLAlchemy's
            # statement machinery cost several times the BEGIN, on the loop, for every read.
            connection.connection.driver_connection.execute("BEGIN")

        return cls(twin)

    def run(self, read: Callable[[Connection], T]) -> T:
        """`read(connection)` in one read transaction, now, on this thread."""
        if self._connection is None:
            self._connection = self._engine.connect()
        connection = self._connection
        try:
            connection.begin()
            try:
                return read(connection)
            finally:
                connection.rollback()
        except Exception:
            self.close()  # a fresh connection next time
            raise

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def dispose(self) -> None:
        self.close()
        self._engine.dispose()


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


__all__ = [
    "READ_ONLY",
    "LoopReader",
    "busy_timeout_ms",
    "configure",
    "data_version",
    "reader",
    "thread_twin",
]
