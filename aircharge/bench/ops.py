"""`aircharge bench ops`: whole top-up operations, the path every channel takes.

Each operation is `OperationService.execute(OperationRequest("topup", …))`: the PIN checked,
limits, the reservation committed, BOSS asked over HTTP, the post with its commissions
committed, the answer with the agent's balance. Cells: storage (SQLite with durable commits,
PostgreSQL when reachable) × concurrency (tasks executing at once).

- Each cell gets a fresh database: the demo tree's level-1 and level-2 agents and `agents`
  merchants under them, every deposit funded from bank clearing, the sales limits lifted
  (so no operation is refused), one `OperationService` of this process.
- The BOSS emulator runs in a process of its own (`python -m simulator.boss`, on a free
  port, with a state file, as an operator would run it), started once for the run; its ten
  demo prepaid subscribers receive the top-ups.
- Operations go to the merchants in turn, a subscriber each in turn; each has its own
  idempotency key. `ops/s` counts operations answered `ok` per second of the cell; any
  other answer is counted in `fail` (and should be 0). `p50`/`p99`: latency of one
  operation as its caller sees it.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aircharge.bench.agents import seed_merchants
from aircharge.bench.ledger import Database, Storage
from aircharge.bench.processes import boss_process
from aircharge.bench.stats import percentile
from aircharge.bench.tables import render
from aircharge.runtime import settled_heap
from ledger.agents import Agent
from ledger.gateways.boss_http import HttpBossGateway
from ledger.limits import LimitDefaults
from ledger.money import Msisdn
from ledger.operations import OperationRequest, OperationService
from ledger.pins import PinKeys

AGENTS = 50  # merchants selling in turn
PIN = "135790"
FUNDING_FEN = 10**11
AMOUNT_FEN = 1_000  # ¥10.00 a top-up
SUBSCRIBERS = tuple(Msisdn(f"86139000000{n:02d}") for n in range(1, 11))  # BOSS demo prepaid
BOSS_TIMEOUT_MS = 10_000
WARMUP_OPERATIONS = 50
LIMITS = LimitDefaults(
    op_min_fen=1,
    op_max_fen=10**7,
    daily_amount_fen=10**12,
    daily_count=10**9,
    subscriber_daily_fen=10**12,
)
PIN_KEYS = PinKeys.single(b"bench-ops-pin-key")
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class OpsRow:
    storage: str
    concurrency: int
    operations: int
    failures: int
    seconds: float
    ops_per_s: float
    p50_ms: float
    p99_ms: float
    commits: int  # ledger commits in the cell
    outcomes: dict[str, int]


COLUMNS = (
    ("storage", "{:<15}", "storage"),
    ("concurrency", "{:>5}", "conc"),
    ("operations", "{:>7,}", "ops"),
    ("failures", "{:>5,}", "fail"),
    ("ops_per_s", "{:>8,.0f}", "ops/s"),
    ("p50_ms", "{:>8.2f}", "p50 ms"),
    ("p99_ms", "{:>8.2f}", "p99 ms"),
    ("commits", "{:>7,}", "commits"),
)


def table(rows: Sequence[OpsRow]) -> str:
    return render(rows, COLUMNS, 1)


# -- one cell ---------------------------------------------------------------------------------


def _request(merchants: Sequence[Agent], cell: str, i: int) -> OperationRequest:
    params: dict[str, str | int] = {
        "msisdn": SUBSCRIBERS[i % len(SUBSCRIBERS)],
        "amount_fen": AMOUNT_FEN,
        "pin": PIN,
    }
    actor = merchants[i % len(merchants)].msisdn
    return OperationRequest("topup", actor, params, f"{cell}:{i}", "bench")


async def _run_cell(
    storage: Storage,
    boss_url: str,
    concurrency: int,
    operations: int,
    agents: int,
    directory: Path,
) -> OpsRow:
    async with Database(storage, directory) as engine:
        merchants = await seed_merchants(engine, PIN_KEYS, agents, pin=PIN, funding_fen=FUNDING_FEN)
        boss = HttpBossGateway(boss_url, BOSS_TIMEOUT_MS)
        await boss.start()
        service = OperationService(engine, boss, PIN_KEYS, LIMITS)
        await service.start()
        try:
            cell = f"{storage.name}-{concurrency}-{time.time_ns()}"
            for i in range(WARMUP_OPERATIONS):  # connections, caches, statement texts
                await service.execute(_request(merchants, f"{cell}-warm", i))
            commits_before = service.ledger_stats().commits
            counter = itertools.count()
            latencies: list[float] = []
            outcomes: Counter[str] = Counter()

            async def worker() -> None:
                while (i := next(counter)) < operations:
                    started = time.perf_counter()
                    outcome = await service.execute(_request(merchants, cell, i))
                    latencies.append(time.perf_counter() - started)
                    outcomes[outcome.code] += 1

            with settled_heap():  # as `aircharge serve` runs once started
                started = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(concurrency)))
                seconds = time.perf_counter() - started
            commits = service.ledger_stats().commits - commits_before
        finally:
            await service.close()
            await boss.close()
    latencies.sort()
    ok = outcomes["ok"]
    return OpsRow(
        storage=storage.name,
        concurrency=concurrency,
        operations=operations,
        failures=operations - ok,
        seconds=round(seconds, 3),
        ops_per_s=ok / seconds if seconds else 0.0,
        p50_ms=percentile(latencies, 0.5) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        commits=commits,
        outcomes=dict(outcomes),
    )


async def run_ops_bench(
    storages: Sequence[Storage],
    concurrencies: Sequence[int],
    operations: Callable[[int], int],
    agents: int,
    progress: Progress,
) -> list[OpsRow]:
    rows: list[OpsRow] = []
    with tempfile.TemporaryDirectory(prefix="aircharge-bench-ops-") as name:
        directory = Path(name)
        async with boss_process(directory / "boss.db") as boss:
            progress(f"BOSS emulator at {boss.url}")
            for storage in storages:
                for concurrency in concurrencies:
                    row = await _run_cell(
                        storage, boss.url, concurrency, operations(concurrency), agents, directory
                    )
                    progress(
                        f"{storage.name} conc {concurrency}: {row.ops_per_s:,.0f} ops/s,"
                        f" p50 {row.p50_ms:.1f} ms, p99 {row.p99_ms:.1f} ms, {row.outcomes}"
                    )
                    rows.append(row)
    return rows


__all__ = ["AGENTS", "OpsRow", "run_ops_bench", "table"]
