"""Two OS processes, each a LedgerWriter with hundreds of concurrent tasks, spend the same few
limited accounts on one PostgreSQL database, and race each other on shared idempotency keys.

The agents get small refills along the way, but the processes ask for more than there is (a
quarter or so of their requests are refused for lack of money), so the limit is contended.
Afterwards: no limited account is overdrawn or left with a reservation, nor was it at any
point of the journal replayed in order (a refill does not hide an overdraft); the books
balance; every successful transfer is stored exactly once and nothing else is; each shared
key was written by one process and replayed to the other; the agents lost exactly what was
moved; no operation failed for any reason but lack of money; and `ledger verify` finds
nothing. A regression test pins the race that once answered a duplicate with a refusal.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Final

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.accounts import get_accounts
from ledger.money import AccountId
from ledger.schema import account_balances, transfers
from ledger.transfers import Transaction, TransferRequest
from ledger.verify import verify
from ledger.writer import LedgerWriter
from tests.conftest import migrated_engine, require_postgres
from tests.ledger.conftest import net_balances
from tests.ledger.writer_process import open_books, open_engine

ROOT: Final = Path(__file__).resolve().parents[2]

agents_count: Final = 4
fund_fen: Final = 50_000  # per agent
processes_count: Final = 2
tasks_per_process: Final = 300
# The first round spends about half the funds while racing on shared keys; the unique rounds
# then race for the rest, which runs out, and for the refills; the last round races on keys
# with little money left.
ROUNDS: Final = ("shared", "unique", "unique", "unique", "unique", "shared")
shared_every: Final = 4  # in a shared round, every 4th operation has a key both submit
process_timeout_s: Final = 60


async def _spawn(
    url: str, schema: str, hot: AccountId, agents: list[AccountId], prefix: str
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.ledger.writer_process",
        "--mode=debit",
        f"--url={url}",
        f"--schema={schema}",
        f"--label=debit-{prefix}",
        f"--hot={hot}",
        f"--agents={','.join(map(str, agents))}",
        f"--prefix={prefix}",
        f"--tasks={tasks_per_process}",
        f"--rounds={','.join(ROUNDS)}",
        f"--shared-every={shared_every}",
        f"--seed={schema}",
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _run_processes(
    url: str, schema: str, hot: AccountId, agents: list[AccountId]
) -> list[dict[str, Any]]:
    """Start the processes, let them start each round at once, answer their JSON summaries."""
    processes = [
        await _spawn(url, schema, hot, agents, prefix) for prefix in "ab"[:processes_count]
    ]
    try:
        async with asyncio.timeout(process_timeout_s):
            for r in range(len(ROUNDS)):
                for process in processes:
                    assert process.stdout is not None
                    line = await process.stdout.readline()
                    if line != f"round {r}\n".encode():
                        assert process.stderr is not None
                        error = (await process.stderr.read()).decode()
                        pytest.fail(f"a writer process said {line!r}, not round {r}: {error}")
                for process in processes:
                    assert process.stdin is not None
                    process.stdin.write(b"go\n")
                    await process.stdin.drain()
            outputs = await asyncio.gather(*(p.communicate() for p in processes))
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    summaries = []
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err.decode()
        summaries.append(json.loads(out))
    return summaries


async def _stored(engine: AsyncEngine) -> dict[str, list[Any]]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(
                    transfers.c.key,
                    transfers.c.kind,
                    transfers.c.debit_account_id,
                    transfers.c.credit_account_id,
                    transfers.c.amount,
                ).where(transfers.c.key.not_like("fund-%"))
            )
        ).all()
    keys = Counter(row.key for row in rows)
    assert max(keys.values(), default=1) == 1
    return {
        row.key: [row.kind, row.debit_account_id, row.credit_account_id, row.amount] for row in rows
    }


async def _lowest_available(engine: AsyncEngine, agents: list[AccountId]) -> dict[int, int]:
    """Each agent's lowest available balance over the journal replayed in id order.

    A writer inserts a batch's transfers while it holds the locks of the limited accounts they
    touch, in the order it validated them, so per limited account id order is the order in
    which its balance changed: an overdraft that later refills hid still shows here."""
    posted: Counter[int] = Counter()
    reserved: Counter[int] = Counter()
    pending_amounts: dict[str, int] = {}
    lowest: dict[int, int] = dict.fromkeys(agents, 0)
    async with engine.connect() as conn:
        rows = await conn.execute(select(transfers).order_by(transfers.c.id))
    for row in rows:
        debit, credit, amount = row.debit_account_id, row.credit_account_id, row.amount
        if row.kind == "pending":
            pending_amounts[row.key] = amount
            reserved[debit] += amount
        if row.kind in ("post", "void"):
            reserved[debit] -= pending_amounts.pop(row.pending_key)
        if row.kind in ("single", "post"):
            posted[debit] -= amount
            posted[credit] += amount
        if debit in lowest:
            lowest[debit] = min(lowest[debit], posted[debit] - reserved[debit])
    return lowest


def _net_outflow(reported: dict[str, list[Any]], agents: list[AccountId]) -> int:
    """What the successful transfers took from the agents, less the refills they got."""
    net = 0
    for kind, debit, credit, amount in reported.values():
        if kind in ("single", "post"):
            net += amount if debit in agents else 0
            net -= amount if credit in agents else 0
    return net


async def _check_books(
    engine: AsyncEngine, hot: AccountId, agents: list[AccountId], moved: int
) -> None:
    async with engine.connect() as conn:
        found = await get_accounts(conn, [hot, *agents])
        posted, pending = await net_balances(conn)
        hot_shards = (
            await conn.execute(
                select(func.count())
                .select_from(account_balances)
                .where(account_balances.c.account_id == hot, account_balances.c.credits_posted > 0)
            )
        ).scalar_one()
    for agent in agents:
        account = found[agent]
        assert account.balance >= 0, account
        assert account.available >= 0, account
        assert account.debits_pending == 0, account  # every reservation was posted or voided
    assert (int(posted), int(pending)) == (0, 0)  # debits equal credits, posted and pending
    drop = fund_fen * len(agents) - sum(found[agent].balance for agent in agents)
    assert drop == moved
    assert found[hot].balance == moved - fund_fen * len(agents)
    assert hot_shards == processes_count  # each writer credited its own shard of the hot account
    report = await verify(engine)
    assert report.ok, report.problems


async def test_two_processes_spending_the_same_accounts_keep_every_invariant(
    tmp_path: Path,
) -> None:
    require_postgres()
    async with migrated_engine("postgresql", tmp_path) as engine:
        async with engine.connect() as conn:
            schema = (await conn.execute(text("SELECT current_schema()"))).scalar_one()
        url = engine.url.render_as_string(hide_password=False)
        hot, agents = await open_books(engine, agents_count, fund_fen)
        started = time.perf_counter()
        summaries = await _run_processes(url, schema, hot, agents)
        seconds = time.perf_counter() - started

        reported: dict[str, list[Any]] = {}
        for summary in summaries:
            for key, content in summary["transfers"].items():
                assert reported.setdefault(key, content) == content, key
        failures = [failure for summary in summaries for failure in summary["failures"]]
        assert failures == []  # no failure but lack of money
        fresh = [key for summary in summaries for key in summary["fresh"]]
        assert len(fresh) == len(set(fresh))  # no key written by both processes
        assert set(fresh) == set(reported)
        assert await _stored(engine) == reported  # stored once each, and nothing else

        moved = _net_outflow(reported, agents)
        await _check_books(engine, hot, agents, moved)
        assert await _lowest_available(engine, agents) == dict.fromkeys(agents, 0)

        counts = Counter[str]()
        for summary in summaries:
            counts.update(summary["counts"])
        assert counts["insufficient"] * 5 > counts["ok"], counts  # the limit was contended
        assert counts["replayed"] > 0, counts  # and so were the shared keys
        both = set(summaries[0]["transfers"]) & set(summaries[1]["transfers"])
        assert both, "no key was answered ok to both processes"
        assert all(key.startswith("shared-") for key in both)
        print(
            f"{dict(counts)}, {len(reported)} transfers,"
            f" moved {moved} fen,"
            f" batches {[s['batches'] for s in summaries]},"
            f" writer seconds {[s['seconds'] for s in summaries]}, total {seconds:.1f} s"
        )


async def _wait_for_lock_waiters(engine: AsyncEngine, label: str, count: int) -> None:
    async with asyncio.timeout(10):
        while True:
            async with engine.connect() as conn:
                waiting = (
                    await conn.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity"
                            " WHERE application_name = :l AND wait_event_type = 'Lock'"
                        ),
                        {"l": label},
                    )
                ).scalar_one()
            if waiting == count:
                return
            await asyncio.sleep(0.01)


async def test_a_key_committed_by_another_writer_meanwhile_is_replayed_not_refused(
    tmp_path: Path,
) -> None:
    """Two writers get the same transfer K while a third holds the agent's balance lock. Both
    look K up (absent), then queue for the lock; the first commits K, spending everything. The
    second must answer K replayed: it reads the balance after that commit, so K exists."""
    require_postgres()
    async with migrated_engine("postgresql", tmp_path) as setup:
        async with setup.connect() as conn:
            schema = (await conn.execute(text("SELECT current_schema()"))).scalar_one()
        hot, (agent,) = await open_books(setup, 1, 100)
        label = f"race-{schema}"
        engine = open_engine(setup.url.render_as_string(hide_password=False), schema, label)
        writers = [LedgerWriter(engine, label=f"race-{i}") for i in range(2)]
        try:
            for writer in writers:
                await writer.start()
            k = Transaction((TransferRequest.single("K", agent, hot, 100),))
            async with engine.connect() as blocker:
                await blocker.execute(
                    select(account_balances)
                    .where(account_balances.c.account_id == agent)
                    .with_for_update()
                )
                answers = [asyncio.create_task(w.execute(k)) for w in writers]
                await _wait_for_lock_waiters(setup, label, 2)
                await blocker.commit()
            results = await asyncio.gather(*answers)
        finally:
            for writer in writers:
                await writer.close()
            await engine.dispose()
        assert [r.error for r in results] == [None, None], results
        assert sorted(r.replayed for r in results) == [False, True]
