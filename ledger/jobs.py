"""Where the writer's database jobs run: a job is a plain function of a synchronous SQLAlchemy
`Connection`, run inside one transaction, so the same code serves both databases.

- `ThreadJobs` (SQLite files): one thread of the writer's own holding one connection of the
  engine's `thread_twin`; a batch's statements are one hand-off, not one per statement, and
  the event loop goes on (validating the next batch) while the thread writes and syncs.
  Keeping one connection is also what makes SQLite's `data_version` meaningful to the writer.
- `GreenletJobs` (PostgreSQL, in-memory SQLite): the async engine's `run_sync`, which runs
  the same function with every statement awaited on the event loop (asyncpg).

A job that raises rolls its transaction back; the error reaches whoever awaits it.

The GIL: CPython gives it to a waiting thread only once the running thread has held it for
the switch interval (5 ms by default). The writer's thread takes the GIL back after every
statement it hands to SQLite, so beside a busy event loop each statement would wait up to
5 ms and the thread would hardly overlap anything. `ThreadJobs` lowers the interval to
`gil_switch_interval_s` for the process (it costs nothing while no other thread waits);
measured: 37,900 → 47,800 transfers/s with the loop and the thread sharing one batch
stream (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final, Protocol, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger import sqlite

T = TypeVar("T")
gil_switch_interval_s: Final = 0.0001
Job = Callable[[Connection], T]


class Jobs(Protocol):
    dialect: str
    single_connection: bool  # every job runs on the same connection (data_version holds)

    def submit(self, job: Job[T]) -> asyncio.Future[T]:
        """Start `job` now (a thread starts it at once), answering a future of its result."""
        ...

    async def close(self) -> None: ...


def _in_transaction(connection: Connection, job: Job[T]) -> T:
    with connection.begin():
        return job(connection)


class ThreadJobs:
    dialect = "sqlite"
    single_connection = True

    def __init__(self, engine: Engine, name: str) -> None:
        if sys.getswitchinterval() > gil_switch_interval_s:
            sys.setswitchinterval(gil_switch_interval_s)
        self._engine = engine
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._connection: Connection | None = None  # opened, used and closed on the thread

    def _job(self, job: Job[T]) -> T:
        if self._connection is None:
            self._connection = self._engine.connect()
        try:
            return _in_transaction(self._connection, job)
        except BaseException:
            if self._connection.invalidated or self._connection.closed:
                self._connection = None  # a broken connection: open a new one next time
            raise

    def submit(self, job: Job[T]) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self._thread, self._job, job)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._engine.dispose()

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)


class GreenletJobs:
    single_connection = False

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.dialect = engine.dialect.name

    def submit(self, job: Job[T]) -> asyncio.Future[T]:
        return asyncio.ensure_future(self._run(job))

    async def _run(self, job: Job[T]) -> T:
        async with self._engine.connect() as conn:
            return await conn.run_sync(_in_transaction, job)

    async def close(self) -> None:
        return None


async def open_jobs(engine: AsyncEngine, name: str) -> Jobs:
    twin = await sqlite.thread_twin(engine)
    if twin is None:
        return GreenletJobs(engine)
    return ThreadJobs(twin, name)


__all__ = ["GreenletJobs", "Job", "Jobs", "ThreadJobs", "open_jobs"]
