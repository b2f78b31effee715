"""`aircharge bench ledger`: the journal writer's throughput and latency, with its raw baseline.

Cells: storage (SQLite durable = synchronous FULL, SQLite relaxed = NORMAL, PostgreSQL) ×
shape × concurrency (1, 64, 512 tasks submitting at once).

- `single`: one transfer per operation, an agent's deposit (limited) to BOSS clearing (hot).
- `topup`: the top-up shape, two transactions: a pending transfer (deposit → BOSS clearing),
  then its post together with three commission legs (commission expense → seller, level-2
  and level-1 commission accounts).

Raw baseline, defined exactly: after a cell, the very rows that cell wrote — its transfers
and, per commit, the balance-row increments — are written again into a fresh database with
the same tables and indexes, the same commit boundaries and the same synchronous setting,
with plain `sqlite3` / asyncpg `executemany` and no ledger logic (no reads, no validation, no
hashing). `ratio` = ledger transfers/s ÷ raw transfers/s.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import sqlite3
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from aircharge.bench.stats import Row, median, percentile
from aircharge.config import DatabaseConfig
from aircharge.database import create_engine, upgrade
from aircharge.runtime import settled_heap
from ledger.accounts import AccountFlag, AccountSpec, open_accounts
from ledger.journal import TRANSFER_COLUMNS
from ledger.money import AccountId
from ledger.schema import transfers
from ledger.transfers import Transaction, TransferRequest
from ledger.writer import LedgerWriter

AGENTS = 1_000  # default number of agents whose deposits the cells debit
PLATFORM = ("bank", "boss", "expense")
FUNDING_FEN = 10**11
AMOUNT_FEN = 5_000
COMMISSION_FEN = (100, 25, 15)
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Storage:
    name: str
    url: str
    synchronous: str = "FULL"

    @property
    def postgres(self) -> bool:
        return self.url.startswith("postgresql")


@dataclass(frozen=True, slots=True)
class Book:
    bank: AccountId
    boss: AccountId
    expense: AccountId
    deposits: tuple[AccountId, ...]
    commissions: tuple[AccountId, ...]


class Database:
    """A fresh, migrated database for one cell: a SQLite file or a PostgreSQL schema."""

    def __init__(self, storage: Storage, directory: Path) -> None:
        self.storage = storage
        self.schema: str | None = None
        self.path: Path | None = None
        if storage.postgres:
            self.schema = f"bench_{secrets.token_hex(5)}"
            url = storage.url
        else:
            self.path = directory / f"{storage.name}-{secrets.token_hex(4)}.db"
            url = f"sqlite+aiosqlite:///{self.path}"
        self.config = DatabaseConfig(url=url, sqlite_synchronous=storage.synchronous)
        self.engine: AsyncEngine | None = None

    def _dsn(self) -> str:
        return self.storage.url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def __aenter__(self) -> AsyncEngine:
        if self.schema is not None:
            conn = await asyncpg.connect(self._dsn())
            try:
                await conn.execute(f'CREATE SCHEMA "{self.schema}"')
            finally:
                await conn.close()
        self.engine = create_engine(self.config, schema=self.schema)
        await upgrade(self.engine)
        return self.engine

    async def __aexit__(self, *exc: object) -> None:
        assert self.engine is not None
        await self.engine.dispose()
        if self.schema is not None:
            conn = await asyncpg.connect(self._dsn())
            try:
                await conn.execute(f'DROP SCHEMA "{self.schema}" CASCADE')
            finally:
                await conn.close()


async def _open_book(engine: AsyncEngine, agents: int) -> Book:
    now = datetime.now(UTC)
    limited = AccountFlag.DEBITS_MUST_NOT_EXCEED_CREDITS
    async with engine.begin() as conn:
        platform = [AccountSpec(code, "platform", AccountFlag.HOT) for code in PLATFORM]
        per_agent = [
            AccountSpec(f"{prefix}{i}", kind, limited)
            for i in range(agents)
            for prefix, kind in (("d", "deposit"), ("c", "commission"))
        ]
        ids = await open_accounts(conn, [*platform, *per_agent], now)
    bank, boss, expense = ids[: len(platform)]
    deposits, commissions = ids[len(platform) :: 2], ids[len(platform) + 1 :: 2]
    writer = LedgerWriter(engine, label="bench-funding")
    await writer.start()
    try:
        funding = tuple(
            TransferRequest.single(f"fund{i}", bank, account, FUNDING_FEN)
            for i, account in enumerate(deposits)
        )
        (await writer.execute(Transaction(funding))).unwrap()
    finally:
        await writer.close()
    return Book(bank, boss, expense, tuple(deposits), tuple(commissions))


async def _single(writer: LedgerWriter, book: Book, cell: str, i: int) -> int:
    deposit = book.deposits[i % len(book.deposits)]
    request = TransferRequest.single(f"{cell}:{i}", deposit, book.boss, AMOUNT_FEN)
    (await writer.execute(Transaction((request,)))).unwrap()
    return 1


async def _topup(writer: LedgerWriter, book: Book, cell: str, i: int) -> int:
    seller = i % len(book.deposits)
    key = f"{cell}:{i}"
    reserve = TransferRequest.pending(f"{key}:r", book.deposits[seller], book.boss, AMOUNT_FEN)
    (await writer.execute(Transaction((reserve,)))).unwrap()
    legs = tuple(
        TransferRequest.single(
            f"{key}:c{n}",
            book.expense,
            book.commissions[(seller + n) % len(book.commissions)],
            amount,
        )
        for n, amount in enumerate(COMMISSION_FEN)
    )
    post = TransferRequest.post(f"{key}:p", reserve.key)
    (await writer.execute(Transaction((post, *legs)))).unwrap()
    return 5


SHAPES = {"single": _single, "topup": _topup}


@dataclass(frozen=True, slots=True)
class Measured:
    operations: int
    transfers: int
    seconds: float
    latencies: list[float]
    writer_id: int


async def _measure(
    engine: AsyncEngine, book: Book, shape: str, concurrency: int, operations: int
) -> Measured:
    writer = LedgerWriter(engine, label=f"bench-{shape}-{concurrency}")
    await writer.start()
    run = SHAPES[shape]
    counter = itertools.count()
    latencies: list[float] = []
    moved: list[int] = []

    async def worker() -> None:
        while (i := next(counter)) < operations:
            started = time.perf_counter()
            moved.append(await run(writer, book, f"{shape}{concurrency}", i))
            latencies.append(time.perf_counter() - started)

    try:
        with settled_heap():  # as `aircharge serve` runs once started
            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            seconds = time.perf_counter() - started
    finally:
        await writer.close()
    return Measured(operations, sum(moved), seconds, sorted(latencies), writer.writer_id)


async def _written_batches(engine: AsyncEngine, writer_id: int) -> list[list[dict[str, Any]]]:
    """The rows a cell wrote, grouped by commit (a commit stamps one `created_at_us`)."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(transfers)
                .where(transfers.c.writer_id == writer_id)
                .order_by(transfers.c.seq)
            )
        ).all()
    batches: list[list[dict[str, Any]]] = []
    last = None
    for row in rows:
        values = row._asdict()
        del values["id"]
        if values["created_at_us"] != last:
            batches.append([])
            last = values["created_at_us"]
        batches[-1].append(values)
    return batches


def _deltas(batch: Sequence[dict[str, Any]], pendings: dict[str, int]) -> list[tuple[int, ...]]:
    """Per account: the four counter increments this commit made (as the ledger computes)."""
    change: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in batch:
        amount, kind = row["amount"], row["kind"]
        if kind == "pending":
            pendings[row["key"]] = amount
            reserved, posted = amount, 0
        elif kind == "single":
            reserved, posted = 0, amount
        else:
            reserved, posted = -pendings.pop(row["pending_key"]), amount if kind == "post" else 0
        debit, credit = change[row["debit_account_id"]], change[row["credit_account_id"]]
        debit[0] += reserved
        debit[1] += posted
        credit[2] += reserved
        credit[3] += posted
    return [(*values, account) for account, values in sorted(change.items())]


_RAW_INSERT_COLUMNS = TRANSFER_COLUMNS  # the writer's own column order
_RAW_UPDATE = (
    "UPDATE account_balances SET debits_pending = debits_pending + {0},"
    " debits_posted = debits_posted + {1}, credits_pending = credits_pending + {2},"
    " credits_posted = credits_posted + {3} WHERE account_id = {4} AND shard = 0"
)


def _raw_insert(placeholders: list[str]) -> str:
    # Constant column names and placeholders only: no value is formatted into SQL.
    columns, values = ", ".join(_RAW_INSERT_COLUMNS), ", ".join(placeholders)
    return f"INSERT INTO transfers ({columns}) VALUES ({values})"  # noqa: S608


async def _raw(
    storage: Storage, directory: Path, batches: list[list[dict[str, Any]]], agents: int
) -> float:
    """Transfers per second writing the same rows with the same commits, no ledger logic."""
    database = Database(storage, directory)
    async with database as engine:
        await _open_book(engine, agents)  # the same accounts and balance rows
        registered = LedgerWriter(engine, label="bench-raw")  # a chain id of its own
        await registered.start()
        await registered.close()
        writer_id = registered.writer_id
        pendings: dict[str, int] = {}
        prepared = [
            (
                [tuple(dict(r, writer_id=writer_id)[c] for c in _RAW_INSERT_COLUMNS) for r in b],
                _deltas(b, pendings),
            )
            for b in batches
        ]
        count = sum(len(rows) for rows, _ in prepared)
        if storage.postgres:
            seconds = await _raw_postgres(database, prepared)
        else:
            assert database.path is not None
            seconds = await asyncio.to_thread(_raw_sqlite, database.path, storage, prepared)
    return count / seconds


def _raw_sqlite(path: Path, storage: Storage, prepared: list[Any]) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={storage.synchronous}")
        insert = _raw_insert(["?"] * len(_RAW_INSERT_COLUMNS))
        update = _RAW_UPDATE.format("?", "?", "?", "?", "?")
        started = time.perf_counter()
        for rows, deltas in prepared:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(insert, rows)
            connection.executemany(update, deltas)
            connection.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        connection.close()


async def _raw_postgres(database: Database, prepared: list[Any]) -> float:
    connection = await asyncpg.connect(
        database._dsn(), server_settings={"search_path": database.schema or "public"}
    )
    try:
        insert = _raw_insert([f"${i + 1}" for i in range(len(_RAW_INSERT_COLUMNS))])
        update = _RAW_UPDATE.format("$1", "$2", "$3", "$4", "$5")
        started = time.perf_counter()
        for rows, deltas in prepared:
            async with connection.transaction():
                await connection.executemany(insert, rows)
                await connection.executemany(update, deltas)
        return time.perf_counter() - started
    finally:
        await connection.close()


async def run_ledger_bench(
    storages: Sequence[Storage],
    shapes: Sequence[str],
    concurrencies: Sequence[int],
    operations: Callable[[str, int], int],
    progress: Progress,
    agents: int = AGENTS,
    repeat: int = 1,
) -> list[Row]:
    """Every cell `repeat` times (each run: a fresh database, the ledger, then its raw
    baseline), reported as the medians of the runs with the ratio's range."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="aircharge-bench-") as directory:
        for storage in storages:
            for shape in shapes:
                for concurrency in concurrencies:
                    count = operations(shape, concurrency)
                    runs: list[Row] = []
                    for run in range(1, repeat + 1):
                        of = f" (run {run} of {repeat})" if repeat > 1 else ""
                        progress(
                            f"{storage.name} {shape} ×{concurrency}: {count:,} operations{of} …"
                        )
                        cell = _cell(storage, Path(directory), shape, concurrency, count, agents)
                        runs.append(await cell)
                    rows.append(_medians(runs))
    return rows


def _medians(runs: Sequence[Row]) -> Row:
    def middle(name: str) -> float:
        return median([getattr(run, name) for run in runs])

    ratios = [run.ratio for run in runs]
    return replace(
        runs[0],
        seconds=round(middle("seconds"), 3),
        ops_per_s=middle("ops_per_s"),
        transfers_per_s=middle("transfers_per_s"),
        p50_ms=middle("p50_ms"),
        p99_ms=middle("p99_ms"),
        transfers_per_commit=middle("transfers_per_commit"),
        raw_transfers_per_s=middle("raw_transfers_per_s"),
        ratio=median(ratios),
        runs=len(runs),
        ratio_min=min(ratios),
        ratio_max=max(ratios),
    )


async def _cell(
    storage: Storage, directory: Path, shape: str, concurrency: int, count: int, agents: int
) -> Row:
    async with Database(storage, directory) as engine:
        book = await _open_book(engine, agents)
        measured = await _measure(engine, book, shape, concurrency, count)
        batches = await _written_batches(engine, measured.writer_id)
    raw = await _raw(storage, directory, batches, agents)
    transfers_per_s = measured.transfers / measured.seconds
    return Row(
        storage=storage.name,
        shape=shape,
        concurrency=concurrency,
        operations=measured.operations,
        transfers=measured.transfers,
        seconds=round(measured.seconds, 3),
        ops_per_s=measured.operations / measured.seconds,
        transfers_per_s=transfers_per_s,
        p50_ms=percentile(measured.latencies, 0.50) * 1000,
        p99_ms=percentile(measured.latencies, 0.99) * 1000,
        transfers_per_commit=measured.transfers / max(1, len(batches)),
        raw_transfers_per_s=raw,
        ratio=transfers_per_s / raw,
        ratio_min=transfers_per_s / raw,
        ratio_max=transfers_per_s / raw,
    )
