"""Group commit: concurrent callers' writes go to the database together, in one transaction.

At a thousand MOs a second, one transaction per MO through SQLAlchemy async and aiosqlite
(about 0.6 ms a statement, several statements a transaction) would be the bottleneck. Callers
`submit` an item and wait; one loop takes whatever is queued (at most `batch_max` items),
hands the lot to `write` inside one transaction and answers each caller with its result. A
failed batch fails each of its callers with the same error; the next batch is independent.
The queue is bounded: when it is full, `submit` waits (back-pressure on whoever calls).

`write` is a plain function of a synchronous connection, run as one job of `ledger.jobs`: on
a SQLite file, on one thread holding one connection, so a whole batch is one hand-off rather
than one per statement, and the channel's batchers share that thread (their transactions
queue behind each other instead of meeting at SQLite's lock); on PostgreSQL, through the
async engine's `run_sync`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Final, Generic, TypeVar

from sqlalchemy import Connection

from ledger.jobs import Jobs

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")
Write = Callable[[Connection, Sequence[Item]], Sequence[Result]]

batch_max_default: Final = 256  # items per transaction
queue_max_default: Final = 4096  # items waiting for a transaction


class Batcher(Generic[Item, Result]):
    def __init__(
        self,
        write: Write[Item, Result],
        *,
        name: str,
        batch_max: int = batch_max_default,
        queue_max: int = queue_max_default,
    ) -> None:
        assert 0 < batch_max <= queue_max
        self._jobs: Jobs | None = None
        self._write = write
        self._name = name
        self._batch_max = batch_max
        self._queue: asyncio.Queue[tuple[Item, asyncio.Future[Result]]] = asyncio.Queue(queue_max)
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # transactions committed (for tests and benchmarks)

    def start(self, jobs: Jobs) -> None:
        """Write through `jobs` (`ledger.jobs.open_jobs`; its owner closes it after this)."""
        assert self._task is None, "started twice"
        self._jobs = jobs
        self._task = asyncio.create_task(self._run(), name=f"sms-batcher-{self._name}")

    async def close(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    async def submit(self, item: Item) -> Result:
        if self._task is None:  # not an assert: under python -O the item would wait forever
            raise RuntimeError(f"batcher {self._name} is not running (not started, or closed)")
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch_max and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._commit(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _commit(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        items = [item for item, _ in batch]
        try:
            assert self._jobs is not None, "Batcher.start() was not called"
            results = await self._jobs.submit(lambda connection: self._write(connection, items))
        except Exception as exc:  # every caller of the batch learns it; the loop goes on
            log.exception("sms %s: a batch of %d failed", self._name, len(items))
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        assert len(results) == len(items), "a batch write answers each item"
        self.batches += 1
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():  # a caller that gave up (cancelled) is not answered
                future.set_result(result)
