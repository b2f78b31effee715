"""The `aircharge bench` sub-commands (ledger today; chaos, sms, ussd and ivr join later)."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
from pathlib import Path

import asyncpg

from aircharge.bench.ledger import AGENTS, SHAPES, Storage, run_ledger_bench
from aircharge.bench.stats import table, write_json

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
STORAGES = ("sqlite-durable", "sqlite-relaxed", "postgresql")


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def add_bench_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = commands.add_parser("bench", help="benchmarks: a table on stdout, --json FILE")
    kinds = bench.add_subparsers(dest="bench", required=True, metavar="BENCH")
    ledger = kinds.add_parser("ledger", help="journal writer throughput and latency vs raw")
    ledger.add_argument("--json", type=Path, help="also write the results as JSON")
    ledger.add_argument("--storage", default=",".join(STORAGES), help="comma-separated")
    ledger.add_argument("--shapes", default=",".join(SHAPES), help="single,topup")
    ledger.add_argument("--concurrency", default="1,64,512", help="comma-separated")
    ledger.add_argument(
        "--operations", type=int, default=20_000, help="per cell (a tenth at concurrency 1)"
    )
    ledger.add_argument("--agents", type=int, default=AGENTS, help="agents debited in turn")
    ledger.add_argument(
        "--repeat", type=int, default=1, help="runs of each cell; the medians are reported"
    )
    ledger.add_argument("--postgres-url", default=DEFAULT_POSTGRES)


def _storages(names: list[str], postgres_url: str) -> list[Storage]:
    known = {
        "sqlite-durable": Storage("sqlite-durable", "sqlite", "FULL"),
        "sqlite-relaxed": Storage("sqlite-relaxed", "sqlite", "NORMAL"),
        "postgresql": Storage("postgresql", postgres_url),
    }
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise SystemExit(f"aircharge bench: unknown storage {unknown}; choose from {STORAGES}")
    return [known[name] for name in names]


async def _postgres_reachable(url: str) -> bool:
    try:
        conn = await asyncpg.connect(
            url.replace("postgresql+asyncpg://", "postgresql://"), timeout=3
        )
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


def run_bench(args: argparse.Namespace) -> None:
    storages = _storages(_csv(args.storage), args.postgres_url)
    if any(s.postgres for s in storages) and not asyncio.run(
        _postgres_reachable(args.postgres_url)
    ):
        print(f"PostgreSQL not reachable at {args.postgres_url}: skipped", file=sys.stderr)
        storages = [s for s in storages if not s.postgres]
    shapes = _csv(args.shapes)
    if not set(shapes) <= set(SHAPES):
        raise SystemExit(f"aircharge bench: shapes are {sorted(SHAPES)}")
    concurrencies = [int(c) for c in _csv(args.concurrency)]
    per_cell = int(args.operations)
    if args.repeat < 1:
        raise SystemExit("aircharge bench: --repeat is at least 1")

    def operations(shape: str, concurrency: int) -> int:
        count = per_cell if concurrency > 1 else max(1, per_cell // 10)
        return count if shape == "single" else max(1, count // 4)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    rows = asyncio.run(
        run_ledger_bench(
            storages, shapes, concurrencies, operations, progress, args.agents, args.repeat
        )
    )
    print(table(rows))
    if args.json:
        context = {
            "bench": "ledger",
            "python": sys.version.split()[0],
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "operations_per_cell": per_cell,
            "agents": int(args.agents),
            "repeat": args.repeat,
        }
        write_json(args.json, rows, context)
        print(f"wrote {args.json}", file=sys.stderr)
