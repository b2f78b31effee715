"""The batch executor: the one path by which transfers reach the journal.

Callers `execute(transaction)` concurrently; one task per writer takes what has queued up
(group commit: while a batch commits, the next one gathers), validates it in memory in order
(`ledger.batch`) and writes it with one `executemany` per table in one database transaction.
Each transaction still succeeds or fails on its own. The writer owns a hash chain: its
transfers get consecutive `seq` numbers and chained hashes, and its head row is updated in
the same commit.

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
import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger import chain, errors
from ledger.accounts import LIMITED_SHARD, AccountFlag, hot_shards_max
from ledger.batch import (
    CP,
    CX,
    DP,
    DX,
    Accepted,
    AccountState,
    BatchState,
    Outcome,
    PendingState,
)
from ledger.clock import from_micros, micros
from ledger.money import AccountId, Fen
from ledger.schema import account_balances, ledger_writers, transfers
from ledger.transfers import (
    RecordInsert,
    RecordUpdate,
    Transaction,
    TransactionResult,
    Transfer,
    TransferRequest,
    expire_key,
)

log = logging.getLogger(__name__)

batch_transfers_max: Final = 2048
batch_wait_ms: Final = 1
queue_length_max: Final = 16_384
commit_attempts_max: Final = 8
expiries_per_sweep_max: Final = 1000
_LIMIT_FLAGS: Final = int(
    AccountFlag.DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlag.CREDITS_MUST_NOT_EXCEED_DEBITS
)
_RETRYABLE_SQLSTATES: Final = frozenset({"40001", "40P01", "55P03"})

Clock = Callable[[], datetime]
_Item = tuple[Transaction, "asyncio.Future[TransactionResult]"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _retryable(exc: DBAPIError) -> bool:
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state in _RETRYABLE_SQLSTATES or "database is locked" in str(orig)


@dataclass(frozen=True, slots=True)
class WriterLimits:
    batch_transfers_max: int = batch_transfers_max
    batch_wait_ms: float = batch_wait_ms
    queue_length_max: int = queue_length_max


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
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue(limits.queue_length_max)
        self._task: asyncio.Task[None] | None = None
        self.writer_id = 0
        self._seq = 0
        self._head = ""
        self.batches = 0  # commits so far, for benchmarks and metrics

    async def start(self) -> None:
        now = self._clock()
        async with self._engine.begin() as conn:
            result = await conn.execute(
                insert(ledger_writers).values(
                    label=self._label[:128], started_at=now, last_seq=0, last_hash=""
                )
            )
            assert result.inserted_primary_key is not None
            self.writer_id = int(result.inserted_primary_key[0])
            self._head = chain.genesis(self.writer_id)
            await conn.execute(
                update(ledger_writers)
                .where(ledger_writers.c.id == self.writer_id)
                .values(last_hash=self._head)
            )
        self._task = asyncio.create_task(self._run(), name=f"ledger-writer-{self.writer_id}")

    async def close(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is None:
            return
        await self._queue.put(None)
        await self._task
        self._task = None

    async def execute(self, transaction: Transaction) -> TransactionResult:
        if self._task is None or self._task.done():
            raise RuntimeError("the ledger writer is not running (not started, closed or failed)")
        future: asyncio.Future[TransactionResult] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait((transaction, future))
        except asyncio.QueueFull:
            return TransactionResult(error=errors.Overloaded("ledger writer queue is full"))
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

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch = [first]
            stopping = self._drain(batch)
            if not stopping and len(batch) > 1 and self._limits.batch_wait_ms > 0:
                await asyncio.sleep(self._limits.batch_wait_ms / 1000)  # under load: gather
                stopping = self._drain(batch)
            await self._commit(batch)

    def _drain(self, batch: list[_Item]) -> bool:
        """Add queued items up to the batch bound; True when the stop sentinel was seen."""
        count = sum(len(tx.transfers) for tx, _ in batch)
        while count < self._limits.batch_transfers_max:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return False
            if item is None:
                return True
            batch.append(item)
            count += len(item[0].transfers)
        return False

    async def _commit(self, batch: list[_Item]) -> None:
        try:
            results = await self._commit_with_retries(batch)
        except Exception as exc:  # a broken database: every caller hears of it
            log.exception("ledger writer %s: batch of %d failed", self.writer_id, len(batch))
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _commit_with_retries(
        self, batch: list[_Item]
    ) -> Sequence[TransactionResult | BaseException]:
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

    async def _one_by_one(self, batch: list[_Item]) -> list[TransactionResult | BaseException]:
        """Each transaction in its own commit; one that fails takes only its own caller down
        (what committed before it stays committed and is answered as such)."""
        results: list[TransactionResult | BaseException] = []
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

    # -- one commit ----------------------------------------------------------------------

    async def _write(self, batch: list[Transaction]) -> list[TransactionResult]:
        now = self._clock()
        requests = [request for tx in batch for request in tx.transfers]
        async with self._engine.begin() as conn:
            state = await _load(conn, requests, now)
            outcomes = [state.apply(tx) for tx in batch]
            written, rows, head, seq = self._chain(outcomes, now)
            if rows:
                await conn.exec_driver_sql(_insert_transfers_sql(conn.dialect.paramstyle), rows)
                await _apply_deltas(conn, state, self.writer_id % hot_shards_max)
            await _write_records(conn, batch, outcomes)
            if rows:
                await conn.execute(
                    update(ledger_writers)
                    .where(ledger_writers.c.id == self.writer_id)
                    .values(last_seq=seq, last_hash=head)
                )
        self._seq, self._head = seq, head
        self.batches += 1
        return [_result(outcome, state, written) for outcome in outcomes]

    def _chain(
        self, outcomes: list[Outcome], now: datetime
    ) -> tuple[dict[str, Transfer], list[tuple[Any, ...]], str, int]:
        """The accepted transfers, in order, each given its place and hash in this chain,
        and the rows that store them."""
        head, seq, now_us = self._head, self._seq, micros(now)
        written: dict[str, Transfer] = {}
        rows: list[tuple[Any, ...]] = []
        for outcome in outcomes:
            if not isinstance(outcome, Accepted):
                continue
            for new in outcome.transfers:
                seq += 1
                fields = chain.transfer_fields(
                    writer_id=self.writer_id,
                    seq=seq,
                    key=new.key,
                    kind=new.kind,
                    debit_account_id=new.debit_account_id,
                    credit_account_id=new.credit_account_id,
                    amount=new.amount,
                    currency=new.currency,
                    pending_key=new.pending_key,
                    expires_at_us=None if new.expires_at is None else micros(new.expires_at),
                    reference=new.reference,
                    meta=new.meta,
                    created_at_us=now_us,
                )
                head = chain.link(head, fields)
                transfer = Transfer(
                    key=new.key,
                    kind=new.kind,
                    debit_account_id=new.debit_account_id,
                    credit_account_id=new.credit_account_id,
                    amount=Fen(new.amount),
                    currency=new.currency,
                    pending_key=new.pending_key,
                    expires_at=new.expires_at,
                    reference=new.reference,
                    meta=new.meta_values,
                    created_at=now,
                    writer_id=self.writer_id,
                    seq=seq,
                    hash=head,
                )
                written[new.key] = transfer
                rows.append((*fields[1:], self.writer_id, head))  # TRANSFER_COLUMNS order
        return written, rows, head, seq


# The stored columns of a transfer: exactly the chained fields after the writer id (which
# leads them in the hash), then the hash. Written with the driver's executemany: the rows are
# plain tuples already, so SQLAlchemy's per-row bind processing would be pure overhead.
TRANSFER_COLUMNS: Final = (
    "seq", "key", "kind", "debit_account_id", "credit_account_id", "amount", "currency",
    "pending_key", "expires_at_us", "reference", "meta", "created_at_us", "writer_id", "hash",
)  # fmt: skip


def _marks(paramstyle: str, count: int) -> list[str]:
    """Positional placeholders of the driver: sqlite3's `?`, asyncpg's `$n`."""
    if paramstyle == "qmark":
        return ["?"] * count
    if paramstyle == "numeric_dollar":
        return [f"${i}" for i in range(1, count + 1)]
    raise NotImplementedError(f"paramstyle {paramstyle}")


@functools.cache
def _insert_transfers_sql(paramstyle: str) -> str:
    columns = ", ".join(TRANSFER_COLUMNS)
    marks = ", ".join(_marks(paramstyle, len(TRANSFER_COLUMNS)))
    return f"INSERT INTO transfers ({columns}) VALUES ({marks})"  # noqa: S608 - constants only


def _result(outcome: Outcome, state: BatchState, written: dict[str, Transfer]) -> TransactionResult:
    if isinstance(outcome, errors.LedgerError):
        return TransactionResult(error=outcome)
    if isinstance(outcome, Accepted):
        return TransactionResult(tuple(written[t.key] for t in outcome.transfers))
    found = tuple(state.existing.get(key) or written[key] for key in outcome.keys)
    return TransactionResult(found, replayed=True)


async def _load(
    conn: AsyncConnection, requests: list[TransferRequest], now: datetime
) -> BatchState:
    """Read what the batch touches. Order matters on PostgreSQL (READ COMMITTED): pending
    transfers are immutable and read first, to know every account; then the limited
    accounts' balance rows are locked; only then are existing keys and resolutions read, so
    whatever another writer committed on those accounts before we got the lock is seen (a
    duplicate answers as a replay, not as a refusal). Races on unlocked (hot-only) transfers
    are caught by the unique indexes and retried."""
    pending_keys = {r.pending_key for r in requests if r.pending_key is not None}
    pendings = await _load_pendings(conn, pending_keys)
    account_ids: set[int] = set()
    for r in requests:
        account_ids.update(a for a in (r.debit_account_id, r.credit_account_id) if a is not None)
    for p in pendings.values():
        account_ids.update((p.debit_account_id, p.credit_account_id))
    states = await _load_accounts(conn, account_ids)  # locks limited balances
    keys = {r.key for r in requests}
    existing: dict[str, Transfer] = {}
    resolved: set[str] = set()
    # the batch's own keys, and what already resolves the pending transfers it names
    sql = _select_known_sql(conn.dialect.paramstyle, len(keys), len(pending_keys))
    for row in await conn.exec_driver_sql(sql, (*keys, *pending_keys)):
        if row.key in keys:
            existing[row.key] = Transfer.from_row(row)
        if row.pending_key in pending_keys:
            resolved.add(row.pending_key)
    return BatchState(
        accounts=states,
        pendings={k: v for k, v in pendings.items() if k not in resolved},
        resolved=resolved,
        existing=existing,
        now=now,
    )


async def _load_pendings(conn: AsyncConnection, keys: set[str]) -> dict[str, PendingState]:
    if not keys:
        return {}
    rows = await conn.execute(
        select(transfers).where(transfers.c.key.in_(keys), transfers.c.kind == "pending")
    )
    return {
        row.key: PendingState(
            row.key,
            AccountId(row.debit_account_id),
            AccountId(row.credit_account_id),
            row.amount,
            row.currency,
            None if row.expires_at_us is None else from_micros(row.expires_at_us),
            row.reference,
        )
        for row in rows
    }


async def _load_accounts(
    conn: AsyncConnection, account_ids: Iterable[int]
) -> dict[AccountId, AccountState]:
    """The accounts a batch touches, limited ones with their balance (locked on PostgreSQL).
    Plain driver SQL: hundreds of ids a batch, read twice a commit, so SQLAlchemy's
    per-statement compiling of an expanding IN and its row objects would dominate."""
    wanted = sorted(account_ids)
    if not wanted:
        return {}
    style = conn.dialect.paramstyle
    meta: Sequence[Any] = (
        await conn.exec_driver_sql(_select_accounts_sql(style, len(wanted)), tuple(wanted))
    ).fetchall()
    limited = sorted(account_id for account_id, _, flags in meta if flags & _LIMIT_FLAGS)
    balances: dict[int, list[int]] = {}
    if limited:
        lock = conn.dialect.name == "postgresql"
        rows = await conn.exec_driver_sql(
            _select_balances_sql(style, len(limited), lock), tuple(limited)
        )
        found: Sequence[Any] = rows.fetchall()
        for account_id, dp, dx, cp, cx in found:
            balances[account_id] = [dp, dx, cp, cx]
    return {
        AccountId(account_id): AccountState.of(
            AccountId(account_id), currency, flags, balances.get(account_id, [0, 0, 0, 0])
        )
        for account_id, currency, flags in meta
    }


def _select_known_sql(paramstyle: str, keys: int, pending_keys: int) -> str:
    marks = _marks(paramstyle, keys + pending_keys)
    where = f"key IN ({', '.join(marks[:keys])})"
    if pending_keys:
        where += f" OR pending_key IN ({', '.join(marks[keys:])})"
    columns = ", ".join(("id", *TRANSFER_COLUMNS))
    return f"SELECT {columns} FROM transfers WHERE {where}"  # noqa: S608


def _select_accounts_sql(paramstyle: str, count: int) -> str:
    marks = ", ".join(_marks(paramstyle, count))
    return f"SELECT id, currency, flags FROM accounts WHERE id IN ({marks})"  # noqa: S608


def _select_balances_sql(paramstyle: str, count: int, lock: bool) -> str:
    """Shard 0 of limited accounts, in id order (so lockers never wait on each other in a
    cycle), FOR UPDATE on PostgreSQL (SQLite's BEGIN IMMEDIATE already excludes writers)."""
    marks = ", ".join(_marks(paramstyle, count))
    return (
        "SELECT account_id, debits_pending, debits_posted, credits_pending, credits_posted"  # noqa: S608
        f" FROM account_balances WHERE shard = {LIMITED_SHARD} AND account_id IN ({marks})"
        f" ORDER BY account_id{' FOR UPDATE' if lock else ''}"
    )


@functools.cache
def _add_to_balance_sql(paramstyle: str) -> str:
    """Add four deltas to one balance row (account, shard); executemany'd with tuples."""
    dp, dx, cp, cx, account, shard = _marks(paramstyle, 6)
    return (
        f"UPDATE account_balances SET debits_pending = debits_pending + {dp},"  # noqa: S608
        f" debits_posted = debits_posted + {dx}, credits_pending = credits_pending + {cp},"
        f" credits_posted = credits_posted + {cx}"
        f" WHERE account_id = {account} AND shard = {shard}"
    )  # constants and placeholders only


async def _apply_deltas(conn: AsyncConnection, state: BatchState, shard: int) -> None:
    limited: list[tuple[int, ...]] = []
    hot: list[dict[str, int]] = []
    for account_id, delta in sorted(state.deltas.items()):
        account = state.accounts[account_id]
        if not account.hot:
            limited.append((*delta, account_id, LIMITED_SHARD))
        else:
            hot.append(
                {
                    "account_id": account_id,
                    "shard": shard,
                    "debits_pending": delta[DP],
                    "debits_posted": delta[DX],
                    "credits_pending": delta[CP],
                    "credits_posted": delta[CX],
                }
            )
    if limited:
        await conn.exec_driver_sql(_add_to_balance_sql(conn.dialect.paramstyle), limited)
    if hot:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(account_balances)
        counters = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=["account_id", "shard"],
                set_={c: account_balances.c[c] + statement.excluded[c] for c in counters},
            ),
            hot,
        )


async def _write_records(
    conn: AsyncConnection, batch: list[Transaction], outcomes: list[Outcome]
) -> None:
    inserts: dict[Any, list[dict[str, Any]]] = {}
    for tx, outcome in zip(batch, outcomes, strict=True):
        if not isinstance(outcome, Accepted):
            continue
        for record in tx.records:
            if isinstance(record, RecordInsert):
                inserts.setdefault(record.table, []).append(dict(record.values))
            elif isinstance(record, RecordUpdate):
                table = record.table
                await conn.execute(
                    update(table)
                    .where(table.c[record.key_column] == record.key_value)
                    .values(**record.values)
                )
    for table, rows in inserts.items():
        await conn.execute(insert(table), rows)
