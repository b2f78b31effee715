"""A writer process SIGKILLed in the middle of a stream of batches loses nothing it acknowledged
and leaves nothing half done: on SQLite in durable mode (WAL, synchronous FULL) and on
PostgreSQL.

The child (`tests.ledger.writer_process --mode stream`) fsyncs each acknowledged
transaction's keys to a file before submitting its next. After each kill the database is
opened afresh (SQLite recovers from its WAL) and: every acknowledged key is stored; every
stored transaction has all its legs (the keys carry the number of legs); every pending is
resolved by its post or void; the books balance and `ledger verify` finds the killed writer's
chain intact; and at most one transaction per task was committed but not yet acknowledged.
A new process then streams on and is killed in turn, three times in all, and finally a new
writer carries on.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from aircharge.config import DatabaseConfig
from aircharge.database import create_engine, upgrade
from ledger.accounts import get_accounts
from ledger.money import AccountId
from ledger.schema import ledger_writers, transfers
from ledger.sqlite import busy_timeout_ms, thread_twin
from ledger.verify import verify
from ledger.writer import LedgerWriter
from tests.conftest import migrated_engine
from tests.ledger.conftest import net_balances
from tests.ledger.writer_process import open_books, open_engine, stream_transaction

ROOT: Final = Path(__file__).resolve().parents[2]

agents_count: Final = 3
fund_fen: Final = 10**11  # the stream moves at most 1000 fen a transfer: it never runs dry
stream_tasks: Final = 48
KILLED_STREAMS: Final = ("a", "b", "c")  # each a new process, with its own keys
acks_before_kill_min: Final = 800
acks_before_kill_max: Final = 1_600
kill_delay_s_max: Final = 0.05
ack_wait_timeout_s: Final = 30
session_gone_timeout_s: Final = 10
carry_on_transactions: Final = 200


@dataclass(frozen=True)
class Books:
    url: str
    schema: str | None
    hot: AccountId
    agents: list[AccountId]


def _acknowledged(path: Path) -> list[list[str]]:
    """The complete lines of the acknowledgement file (a torn last line is not a claim)."""
    if not path.exists():
        return []
    return [line.split() for line in path.read_text(encoding="ascii").split("\n")[:-1]]


def _label(books: Books, prefix: str) -> str:
    """The stream's writer label and PostgreSQL application_name, unique to this test run."""
    return f"stream-{prefix}-{books.schema or 'sqlite'}"


def _wal_size(database: str) -> int:
    return Path(f"{database}-wal").stat().st_size


async def _stream_and_kill(books: Books, prefix: str, acks: Path, rng: random.Random) -> int:
    """Run a stream process until it acknowledged a random thousand or so transactions, then
    SIGKILL it at a random moment. Answers how many it acknowledged."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.ledger.writer_process",
        "--mode=stream",
        f"--url={books.url}",
        *([f"--schema={books.schema}"] if books.schema else []),
        f"--label={_label(books, prefix)}",
        f"--hot={books.hot}",
        f"--agents={','.join(map(str, books.agents))}",
        f"--prefix={prefix}",
        f"--tasks={stream_tasks}",
        f"--seed={rng.random()}",
        f"--acks={acks}",
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    wanted = rng.randint(acks_before_kill_min, acks_before_kill_max)
    try:
        async with asyncio.timeout(ack_wait_timeout_s):
            while len(_acknowledged(acks)) < wanted:
                if process.returncode is not None:
                    assert process.stderr is not None
                    pytest.fail(f"the stream died by itself: {(await process.stderr.read())!r}")
                await asyncio.sleep(0.01)
        await asyncio.sleep(rng.uniform(0, kill_delay_s_max))
        process.send_signal(signal.SIGKILL)
        await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == -signal.SIGKILL
    return len(_acknowledged(acks))


async def _wait_until_sessions_gone(engine: AsyncEngine, label: str) -> None:
    """PostgreSQL ends a killed client's session (rolling back its open transaction) when it
    notices the closed socket; read only after that, or a commit still in flight could land
    between the checks."""
    async with asyncio.timeout(session_gone_timeout_s):
        while True:
            async with engine.connect() as conn:
                left = (
                    await conn.execute(
                        text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :l"),
                        {"l": label},
                    )
                ).scalar_one()
            if left == 0:
                return
            await asyncio.sleep(0.05)


async def _check(engine: AsyncEngine, books: Books, acked: dict[str, list[list[str]]]) -> int:
    """Every invariant a kill must keep; answers how many stored transactions were not (yet)
    acknowledged."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(transfers.c.key, transfers.c.kind, transfers.c.pending_key))
        ).all()
        posted, pending = await net_balances(conn)
        found = await get_accounts(conn, books.agents)
    stored = {row.key for row in rows}
    missing = [
        key for lines in acked.values() for line in lines for key in line if key not in stored
    ]
    assert not missing, f"acknowledged but not stored: {missing[:10]}"

    legs = Counter(key.rsplit("-", 1)[0] for key in stored if not key.startswith("fund-"))
    torn = {tx: n for tx, n in legs.items() if n != int(tx.rsplit("-", 1)[1])}
    assert not torn, f"transactions stored in part: {torn}"
    pendings = {row.key for row in rows if row.kind == "pending"}
    assert pendings == {row.pending_key for row in rows if row.pending_key is not None}

    unacknowledged = 0
    for prefix, lines in acked.items():
        done = {line[0].rsplit("-", 1)[0] for line in lines}
        committed = {tx for tx in legs if tx.startswith(f"{prefix}-")}
        assert done <= committed
        assert len(committed - done) <= stream_tasks  # one in flight per task at most
        unacknowledged += len(committed - done)

    assert (int(posted), int(pending)) == (0, 0)
    for account in found.values():
        assert account.debits_pending == 0, account
        assert account.available >= 0, account
    report = await verify(engine)
    assert report.ok, report.problems
    return unacknowledged


async def _carry_on(engine: AsyncEngine, books: Books, rng: random.Random) -> list[list[str]]:
    """A new writer on the recovered database: everything it is asked succeeds."""
    writer = LedgerWriter(engine, label="after-the-crashes")
    await writer.start()
    try:
        batch = [
            stream_transaction("z", n, rng, books.agents, books.hot)
            for n in range(carry_on_transactions)
        ]
        results = await asyncio.gather(*(writer.execute(tx) for tx in batch))
    finally:
        await writer.close()
    assert all(result.ok and not result.replayed for result in results)
    async with engine.connect() as conn:
        writers = (
            await conn.execute(select(func.count()).select_from(ledger_writers))
        ).scalar_one()
    assert writers == len(KILLED_STREAMS) + 2  # funding, the killed streams, this one
    return [[t.key for t in tx.transfers] for tx in batch]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_sigkill_mid_stream_loses_nothing_acknowledged(kind: str, tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    print(f"seed {seed}")
    rng = random.Random(seed)
    async with migrated_engine(kind, tmp_path) as setup:
        hot, agents = await open_books(setup, agents_count, fund_fen)
        schema: str | None = None
        if kind == "postgresql":
            async with setup.connect() as conn:
                schema = (await conn.execute(text("SELECT current_schema()"))).scalar_one()
        books = Books(setup.url.render_as_string(hide_password=False), schema, hot, agents)
        await setup.dispose()  # the child is the only one with the database open

        acked: dict[str, list[list[str]]] = {}
        for prefix in KILLED_STREAMS:
            started = time.perf_counter()
            count = await _stream_and_kill(books, prefix, tmp_path / f"{prefix}.acks", rng)
            seconds = time.perf_counter() - started
            acked[prefix] = _acknowledged(tmp_path / f"{prefix}.acks")
            if kind == "sqlite":
                assert _wal_size(str(setup.url.database)) > 0  # left as the kill found it
            engine = open_engine(books.url, books.schema, "check")
            try:
                if kind == "postgresql":
                    await _wait_until_sessions_gone(engine, _label(books, prefix))
                unacknowledged = await _check(engine, books, acked)
            finally:
                await engine.dispose()
            print(
                f"{kind} {prefix}: killed after {count} acks in {seconds:.2f} s,"
                f" {unacknowledged} committed transactions unacknowledged so far"
            )

        engine = open_engine(books.url, books.schema, "carry-on")
        try:
            acked["z"] = await _carry_on(engine, books, rng)
            await _check(engine, books, acked)
        finally:
            await engine.dispose()


@pytest.mark.parametrize(("synchronous", "level"), [(None, 2), ("FULL", 2), ("NORMAL", 1)])
async def test_sqlite_connections_are_wal_durable_and_check_foreign_keys(
    tmp_path: Path, synchronous: str | None, level: int
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pragmas.db'}"
    if synchronous is None:
        config = DatabaseConfig(url=url)  # the default is the durable one
    else:
        config = DatabaseConfig(url=url, sqlite_synchronous=synchronous)
    engine = create_engine(config)
    names = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            found = {
                name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar_one() for name in names
            }
        twin = await thread_twin(engine)  # the writer thread's connections: the same
        assert twin is not None
        try:
            with twin.connect() as sync_conn:
                on_thread = {
                    name: sync_conn.exec_driver_sql(f"PRAGMA {name}").scalar_one() for name in names
                }
        finally:
            twin.dispose()
    finally:
        await engine.dispose()
    assert found == {
        "journal_mode": "wal",
        "synchronous": level,
        "foreign_keys": 1,
        "busy_timeout": busy_timeout_ms,
    }
    assert on_thread == found


async def test_sqlite_transactions_take_the_write_lock_when_they_begin(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: two writers never both hold a read lock and deadlock upgrading it."""
    path = tmp_path / "immediate.db"
    engine = create_engine(DatabaseConfig(url=f"sqlite+aiosqlite:///{path}"))
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")  # begins; reads only
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again once that transaction ended
        other.execute("ROLLBACK")
    finally:
        other.close()
        await engine.dispose()
