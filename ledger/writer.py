"""The batch executor: the one path by which transfers reach the journal.

Callers `execute(transaction)` concurrently; one task per writer takes what has queued up
(group commit: while a batch commits, the next one gathers), validates it in memory in order
(`ledger.batch`) and writes it with one `executemany` per table in one database transaction
(`ledger.journal`, run by `ledger.jobs`). Each transaction still succeeds or fails on its
own. The writer owns a hash chain: its transfers get consecutive `seq` numbers and chained
hashes, and its head row is updated in the same commit.

Two ways a batch is validated:
- from the writer's view (`ledger.view`), on the event loop, while the previous batch is
  still being written on the writer's thread (a pipeline one batch deep); the write checks,
  in its own transaction, that nobody else wrote since the view was read;
- from reads inside its own transaction, when the view cannot vouch for it (PostgreSQL,
  another writer, an account or pending transfer not seen yet) or when the first way failed
  (a stored key, a lock conflict, another connection's commit): nothing of that attempt was
  written, and the batch is done again this way, which answers replays as such.

Bounds (TigerStyle: named, unit last): `batch_transfers_max` per commit, `batch_wait_ms` to
gather more once a batch is under way, `queue_length_max` waiting transactions (a full queue
answers `Overloaded` instead of growing), `commit_attempts_max` for lock conflicts.

Concurrency: SQLite serialises writers (BEGIN IMMEDIATE). On PostgreSQL several writers in
several processes run at once: limited accounts' balance rows are read FOR UPDATE in id order
(no overdraft, no lost update, no deadlock cycle), hot accounts are added to per-writer shard
rows (nobody queues on BOSS clearing), unique keys catch racing duplicates, and the batch is
retried from fresh reads when a commit conflicts.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, NamedTuple

from sqlalchemy import Connection, select
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger import chain, errors, journal, sqlite
from ledger.accounts import hot_shards_max
from ledger.batch import BatchState, Outcome
from ledger.clock import micros
from ledger.jobs import Jobs, open_jobs
from ledger.schema import transfers
from ledger.transfers import Transaction, TransactionResult, TransferRequest, expire_key
from ledger.view import WriterView

log = logging.getLogger(__name__)

batch_transfers_max: Final = 2048
batch_wait_ms: Final = 1
queue_length_max: Final = 16_384
commit_attempts_max: Final = 8
expiries_per_sweep_max: Final = 1000
split_min: Final = 64  # transactions waiting before an idle pipeline splits them in two
_RETRYABLE_SQLSTATES: Final = frozenset({"40001", "40P01", "55P03"})

Clock = Callable[[], datetime]
_Item = tuple[Transaction, "asyncio.Future[TransactionResult]"]
_Answer = TransactionResult | BaseException


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _retryable(exc: DBAPIError) -> bool:
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state in _RETRYABLE_SQLSTATES or "database is locked" in str(orig)


class _ReadsNeeded(Exception):
    """The prepared batch may not hold: another connection committed since the view was
    read, or a key the view refused is stored (a replay answers what was stored, even when
    the request would not pass today)."""


@dataclass(frozen=True, slots=True)
class WriterLimits:
    batch_transfers_max: int = batch_transfers_max
    batch_wait_ms: float = batch_wait_ms
    queue_length_max: int = queue_length_max


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A batch validated from the view, chained and answered, waiting to be written."""

    items: list[_Item]
    state: BatchState
    outcomes: list[Outcome]
    chained: journal.Chained
    answers: list[TransactionResult]
    refused_keys: tuple[str, ...]  # of transactions the view refused
    generation: int
    data_version: int


class WriterStats(NamedTuple):
    """Counters since start, for metrics: a rising `commits - commits_from_view` share means
    batches are validated from reads (another writer, or accounts the view has not seen); a
    queue near `queue_length_max` means callers are about to be told `Overloaded`."""

    commits: int
    commits_from_view: int
    transfers: int
    queue_length: int
    queue_length_max: int


class _Writing(NamedTuple):
    job: asyncio.Future[None]  # the write itself
    task: asyncio.Task[None]  # then: answer its callers, or do it again from reads


_Written = tuple[BatchState, journal.Chained, list[Outcome], int | None]


class LedgerWriter:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        label: str,
        clock: Clock = _utc_now,
        limits: WriterLimits = WriterLimits(),
    ) -> None:
        self._engine = engine
        self._label = label
        self._clock = clock
        self._limits = limits
        # Waiting transactions, then None once closing: a deque and a wake-up future rather
        # than an asyncio.Queue, whose put and get cost a microsecond each per transfer.
        self._waiting: deque[_Item | None] = deque()
        self._wakeup: asyncio.Future[None] | None = None
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.writer_id = 0
        self._seq = 0  # the chain as committed
        self._head = ""
        self._next_seq = 0  # the chain as prepared (ahead while a batch is being written)
        self._next_head = ""
        self._jobs: Jobs | None = None
        self._view = WriterView(enabled=False)
        self.batches = 0  # commits so far, for benchmarks and metrics
        self.batches_from_view = 0  # of those, validated from the view while another wrote
        self.transfers_written = 0

    async def start(self) -> None:
        jobs = await open_jobs(self._engine, name=f"ledger-{self._label[:24]}")
        now = self._clock()
        label = self._label

        def register(conn: Connection) -> int:
            return journal.register_writer(conn, label, now)

        try:
            self.writer_id = await jobs.submit(register)
        except BaseException:
            await jobs.close()
            raise
        self._jobs = jobs
        self._seq, self._head = 0, chain.genesis(self.writer_id)
        self._next_seq, self._next_head = self._seq, self._head
        self._view = WriterView(enabled=jobs.single_connection)
        self._task = asyncio.create_task(self._run(), name=f"ledger-writer-{self.writer_id}")

    async def close(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is None:
            return
        self._closing = True
        self._waiting.append(None)
        self._wake()
        try:
            await self._task
        finally:
            self._task = None
            if self._jobs is not None:
                await self._jobs.close()
                self._jobs = None

    def stats(self) -> WriterStats:
        waiting = self._waiting
        closing = 1 if waiting and waiting[-1] is None else 0  # the close sentinel
        return WriterStats(
            self.batches,
            self.batches_from_view,
            self.transfers_written,
            len(waiting) - closing,
            self._limits.queue_length_max,
        )

    async def execute(self, transaction: Transaction) -> TransactionResult:
        if self._task is None or self._task.done() or self._closing:
            raise RuntimeError("the ledger writer is not running (not started, closed or failed)")
        if len(self._waiting) >= self._limits.queue_length_max:
            return TransactionResult(error=errors.Overloaded("ledger writer queue is full"))
        if not transaction.transfers:
            return TransactionResult(error=errors.InvalidTransfer("a transaction has no transfer"))
        future: asyncio.Future[TransactionResult] = asyncio.get_running_loop().create_future()
        self._waiting.append((transaction, future))
        if self._wakeup is not None:
            self._wake()
        # A caller that gives up cancels only its wait: the writer still commits what it took.
        return await future

    async def expire_due(self, limit: int = expiries_per_sweep_max) -> int:
        """Release pending transfers past their expiry (operations waiting on BOSS set none).
        Answers how many were expired."""
        now = self._clock()
        resolved = select(transfers.c.pending_key).where(transfers.c.pending_key.is_not(None))
        async with self._engine.connect() as conn:
            due = (
                (
                    await conn.execute(
                        select(transfers.c.key)
                        .where(
                            transfers.c.kind == "pending",
                            transfers.c.expires_at_us <= micros(now),
                            transfers.c.key.not_in(resolved),
                        )
                        .order_by(transfers.c.expires_at_us)
                        .limit(limit)
                    )
                )
                .scalars()
                .all()
            )
        results = await asyncio.gather(
            *(
                self.execute(
                    Transaction((TransferRequest(expire_key(key), "expire", pending_key=key),))
                )
                for key in due
            )
        )
        return sum(1 for result in results if result.ok and not result.replayed)

    # -- the loop ------------------------------------------------------------------------

    def _wake(self) -> None:
        wakeup, self._wakeup = self._wakeup, None
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    async def _run(self) -> None:
        try:
            await self._batches()
        finally:  # stopped, or failed: nobody is left waiting for an answer
            stopped = RuntimeError("the ledger writer stopped")
            for item in self._waiting:
                if item is not None and not item[1].done():
                    item[1].set_exception(stopped)
            self._waiting.clear()

    async def _batches(self) -> None:
        writing: _Writing | None = None  # a batch prepared from the view
        waiting = self._waiting
        while True:
            while not waiting:
                self._wakeup = asyncio.get_running_loop().create_future()
                await self._wakeup
            if waiting[0] is None:
                break
            idle = writing is None
            if idle and len(waiting) > 1 and self._limits.batch_wait_ms > 0:
                await asyncio.sleep(self._limits.batch_wait_ms / 1000)  # under load: gather
            # With the pipeline idle and much waiting, write half at once and prepare the other
            # half meanwhile: callers then come back in two groups, one gathering while the
            # other is written.
            split = idle and self._view.enabled and len(waiting) >= split_min
            batch = self._take(len(waiting) // 2 if split else len(waiting))
            prepared = self._prepare(batch)  # overlaps the write in flight, if any
            if writing is not None:
                await self._settle(writing, fully=prepared is None)
                writing = None
            if prepared is not None and prepared.generation == self._view.generation:
                writing = self._write_prepared(prepared)
            else:
                await self._commit(batch)
        if writing is not None:
            await self._settle(writing, fully=True)

    def _take(self, count: int) -> list[_Item]:
        """Up to `count` waiting transactions (at least one), within the batch bound."""
        waiting, limit = self._waiting, self._limits.batch_transfers_max
        batch: list[_Item] = []
        transfers = 0
        while waiting and len(batch) < max(1, count):
            item = waiting[0]
            if item is None or (batch and transfers + len(item[0].transfers) > limit):
                break
            waiting.popleft()
            batch.append(item)
            transfers += len(item[0].transfers)
        return batch

    @staticmethod
    async def _settle(writing: _Writing, *, fully: bool) -> None:
        """Wait until the batch in flight is written; also until its callers are answered
        (and, if it failed, until it was done again from reads) when `fully` or on failure.
        Otherwise the next batch starts writing before this one's callers are woken."""
        try:
            await writing.job
        except BaseException:
            fully = True
        if fully:
            await writing.task

    @staticmethod
    def _answer(batch: Sequence[_Item], answers: Sequence[_Answer]) -> None:
        for (_, future), answer in zip(batch, answers, strict=True):
            if future.done():
                continue
            if isinstance(answer, BaseException):
                future.set_exception(answer)
            else:
                future.set_result(answer)

    # -- validated from the view, written while the next batch is prepared -----------------

    def _prepare(self, batch: list[_Item]) -> _Prepared | None:
        now = self._clock()
        view = self._view
        transactions = [tx for tx, _ in batch]
        state = view.state_for(transactions, now)
        if state is None or view.data_version is None:
            return None
        outcomes = [state.apply(tx) for tx in transactions]
        chained = journal.chain_batch(
            outcomes, writer_id=self.writer_id, head=self._next_head, seq=self._next_seq, now=now
        )
        self._next_seq, self._next_head = chained.seq, chained.head
        view.trim()
        answers = journal.results(outcomes, state, chained)
        refused_keys = tuple(
            request.key
            for tx, answer in zip(transactions, answers, strict=True)
            if answer.error is not None
            for request in tx.transfers
        )
        return _Prepared(
            batch,
            state,
            outcomes,
            chained,
            answers,
            refused_keys,
            view.generation,
            view.data_version,
        )

    def _write_prepared(self, prepared: _Prepared) -> _Writing:
        """Start writing at once (the thread takes the job now, not when this task is first
        scheduled), so the write overlaps the validation of the next batch."""
        writer_id, shard = self.writer_id, self.writer_id % hot_shards_max
        transactions = [tx for tx, _ in prepared.items]

        def write(conn: Connection) -> None:
            if sqlite.data_version(conn) != prepared.data_version:
                raise _ReadsNeeded("another connection committed")
            if journal.any_stored(conn, prepared.refused_keys):
                raise _ReadsNeeded("a refused transaction names a stored key")
            journal.write_batch(
                conn,
                writer_id=writer_id,
                shard=shard,
                chained=prepared.chained,
                state=prepared.state,
                batch=transactions,
                outcomes=prepared.outcomes,
            )

        assert self._jobs is not None
        job = self._jobs.submit(write)
        return _Writing(job, asyncio.create_task(self._finish_prepared(prepared, job)))

    async def _finish_prepared(self, prepared: _Prepared, written: asyncio.Future[None]) -> None:
        writer_id = self.writer_id
        try:
            await written
        except (_ReadsNeeded, journal.GuardRefused, DBAPIError) as exc:
            log.debug("ledger writer %s: prepared batch redone from reads: %r", writer_id, exc)
            self._void_prepared()
            await self._commit(prepared.items)
            return
        except BaseException as exc:
            self._void_prepared()
            self._answer(prepared.items, [exc] * len(prepared.items))
            raise
        self._seq, self._head = prepared.chained.seq, prepared.chained.head
        self.batches += 1
        self.batches_from_view += 1
        self.transfers_written += len(prepared.chained.rows)
        self._answer(prepared.items, prepared.answers)

    def _void_prepared(self) -> None:
        """A prepared batch was not written: what the view and the chain ran ahead with is void."""
        self._view.clear()
        self._next_seq, self._next_head = self._seq, self._head

    # -- validated from reads in its own transaction ---------------------------------------

    async def _commit(self, batch: list[_Item]) -> None:
        try:
            answers = await self._commit_with_retries(batch)
        except Exception as exc:  # a broken database: every caller hears of it
            log.exception("ledger writer %s: batch of %d failed", self.writer_id, len(batch))
            answers = [exc] * len(batch)
        self._answer(batch, answers)

    async def _commit_with_retries(self, batch: list[_Item]) -> Sequence[_Answer]:
        """Commit; a transaction whose counter would pass its cap (`RecordAdd`) is answered
        `LimitExceeded` and the batch is done again without it, so each such refusal costs
        one attempt, not one commit per transaction."""
        refused: dict[int, _Answer] = {}
        remaining = list(range(len(batch)))
        answers: Sequence[_Answer] = []
        while remaining:
            try:
                answers = await self._commit_attempts([batch[i] for i in remaining])
                break
            except journal.GuardRefused as exc:
                position = remaining.pop(exc.position)
                refused[position] = TransactionResult(error=errors.LimitExceeded(exc.limit))
        written = iter(answers)
        return [refused[i] if i in refused else next(written) for i in range(len(batch))]

    async def _commit_attempts(self, batch: list[_Item]) -> Sequence[_Answer]:
        """Commit, retrying lock conflicts from fresh reads. When the database refuses the
        batch otherwise, go one transaction at a time, so only the culprit fails: a unique
        violation (a duplicate that raced us) is retried once, when it reads as a replay or
        as the refusal of a record that rode with the transaction."""
        for attempt in range(commit_attempts_max):
            try:
                return await self._write([tx for tx, _ in batch])
            except IntegrityError as exc:
                if len(batch) > 1:
                    return await self._one_by_one(batch)
                if attempt > 0:
                    return [TransactionResult(error=errors.RecordRefused(str(exc.orig)))]
            except DBAPIError as exc:
                if _retryable(exc) and attempt + 1 < commit_attempts_max:
                    await asyncio.sleep(0.001 * 2**attempt)
                    continue
                if len(batch) > 1:
                    return await self._one_by_one(batch)
                raise
        raise AssertionError("unreachable")

    async def _one_by_one(self, batch: list[_Item]) -> list[_Answer]:
        """Each transaction in its own commit; one that fails takes only its own caller down
        (what committed before it stays committed and is answered as such)."""
        results: list[_Answer] = []
        for item in batch:
            try:
                results += await self._commit_with_retries([item])
            except DataError as exc:
                log.error("ledger writer %s: transaction refused: %s", self.writer_id, exc.orig)
                results.append(TransactionResult(error=errors.RecordRefused(str(exc.orig))))
            except DBAPIError as exc:
                log.error("ledger writer %s: transaction failed: %s", self.writer_id, exc.orig)
                results.append(exc)
        return results

    async def _write(self, batch: list[Transaction]) -> list[TransactionResult]:
        now = self._clock()
        writer_id, shard = self.writer_id, self.writer_id % hot_shards_max
        head, seq = self._head, self._seq
        requests = [request for tx in batch for request in tx.transfers]
        vouched = self._view.enabled

        def write(conn: Connection) -> _Written:
            version = sqlite.data_version(conn) if vouched else None
            state = journal.load_state(conn, requests, now)
            outcomes = [state.apply(tx) for tx in batch]
            chained = journal.chain_batch(
                outcomes, writer_id=writer_id, head=head, seq=seq, now=now
            )
            journal.write_batch(
                conn,
                writer_id=writer_id,
                shard=shard,
                chained=chained,
                state=state,
                batch=batch,
                outcomes=outcomes,
            )
            return state, chained, outcomes, version

        assert self._jobs is not None
        self._view.hold()
        try:
            state, chained, outcomes, version = await self._jobs.submit(write)
        except BaseException:
            self._view.release()
            raise
        self._seq, self._head = chained.seq, chained.head
        self._next_seq, self._next_head = self._seq, self._head
        self._view.absorb(state, version)
        self.batches += 1
        self.transfers_written += len(chained.rows)
        return journal.results(outcomes, state, chained)
