"""The `aircharge bench` sub-commands: ledger, ops, chaos, ussd, sms and ivr."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import asyncpg

from aircharge.bench.chaos import run_chaos
from aircharge.bench.chaos import table as chaos_table
from aircharge.bench.cpu import table as cpu_table
from aircharge.bench.ivr import MODES as IVR_MODES
from aircharge.bench.ivr import run_ivr_bench, stalls_lines
from aircharge.bench.ivr import table as ivr_table
from aircharge.bench.ledger import AGENTS, SHAPES, Storage, run_ledger_bench
from aircharge.bench.ops import AGENTS as OPS_AGENTS
from aircharge.bench.ops import run_ops_bench
from aircharge.bench.ops import table as ops_table
from aircharge.bench.sms import raw_figures, run_sms_bench
from aircharge.bench.sms import table as sms_table
from aircharge.bench.stats import table
from aircharge.bench.ussd import run_ussd_bench
from aircharge.bench.ussd import table as ussd_table
from aircharge.bench.ussd_load import JOURNEYS
from channels.ussd.profiles import PROFILES

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
    chaos = kinds.add_parser(
        "chaos", help="money invariants under BOSS faults, duplicates and SIGKILL, checked"
    )
    chaos.add_argument("--requests", type=int, default=3000, help="requests in the plan")
    chaos.add_argument("--kills", type=int, default=2, help="times the platform is killed")
    chaos.add_argument("--seed", type=int, default=1, help="the plan's and the faults' seed")
    chaos.add_argument("--json", type=Path, help="also write the checks as JSON")
    ops = kinds.add_parser(
        "ops", help="whole top-up operations (OperationService) against the BOSS emulator"
    )
    ops.add_argument("--storage", default="sqlite-durable,postgresql", help="comma-separated")
    ops.add_argument("--concurrency", default="1,64,256", help="comma-separated")
    ops.add_argument(
        "--operations", type=int, default=8_000, help="per cell (a tenth at concurrency 1)"
    )
    ops.add_argument("--agents", type=int, default=OPS_AGENTS, help="merchants selling in turn")
    ops.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    ops.add_argument("--json", type=Path, help="also write the results as JSON")
    ussd = kinds.add_parser(
        "ussd", help="the USSD callback under concurrent journeys, with its baseline"
    )
    ussd.add_argument("--sessions", type=int, default=200, help="concurrent sessions")
    ussd.add_argument("--duration", type=float, default=10.0, help="seconds per cell")
    ussd.add_argument(
        "--profile", default="africastalking", help="africastalking, json (comma-separated)"
    )
    ussd.add_argument(
        "--journey", default="topup,menu", help="topup, menu (comma-separated; see docs)"
    )
    ussd.add_argument(
        "--load-processes", type=int, default=1, help="processes the load is split over"
    )
    ussd.add_argument(
        "--cpu-profile",
        action="store_true",
        help="run each platform cell again under cProfile; CPU by component in the output"
        " (with --json, the raw profiles beside it as JSON.PROFILE.JOURNEY.pstats)",
    )
    ussd.add_argument("--json", type=Path, help="also write the results as JSON")
    ivr = kinds.add_parser(
        "ivr", help="whole top-up calls over FastAGI, unpaced and paced, with a baseline"
    )
    ivr.add_argument("--mode", default="unpaced,paced", help="unpaced, paced (comma-separated)")
    ivr.add_argument(
        "--calls", default="50", help="concurrent unpaced callers per cell (comma-separated)"
    )
    ivr.add_argument(
        "--paced-calls",
        default="500,1000,2000",
        help="concurrent paced calls per cell (comma-separated)",
    )
    ivr.add_argument("--duration", type=float, default=10.0, help="seconds per unpaced cell")
    ivr.add_argument(
        "--paced-duration",
        type=float,
        default=60.0,
        help="seconds during which paced callers start calls (those up then finish)",
    )
    ivr.add_argument(
        "--load-processes", type=int, default=2, help="processes the callers are split over"
    )
    ivr.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="paced calls run this many times faster than real time (for tests: then no"
        " cell counts as held)",
    )
    ivr.add_argument("--json", type=Path, help="also write the results as JSON")
    sms = kinds.add_parser(
        "sms", help="top-ups by SMS end to end over SMPP, and the link's raw submit_sm/s"
    )
    sms.add_argument("--rate", type=float, default=1_000.0, help="MOs offered per second")
    sms.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    sms.add_argument("--merchants", type=int, default=2_000, help="merchants sending in turn")
    sms.add_argument("--profile", action="store_true", help="the platform's CPU by component")
    sms.add_argument("--raw", action="store_true", help="also the link's raw submit_sm/s")
    sms.add_argument("--raw-messages", type=int, default=100_000, help="submit_sm per raw run")
    sms.add_argument("--json", type=Path, help="also write the results as JSON")


def _write_report(
    path: Path, bench: str, context: Mapping[str, object], body: Mapping[str, object]
) -> None:
    """The JSON report of a bench: where it ran, its settings, and its figures (dataclass
    rows are written as objects)."""
    where = {
        "bench": bench,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    figures = dict(body)
    if isinstance(rows := figures.get("rows"), list):
        figures["rows"] = [dataclasses.asdict(row) for row in rows]
    report = {"context": where | dict(context), **figures}
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)


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


def _reachable(storages: list[Storage], postgres_url: str) -> list[Storage]:
    if any(s.postgres for s in storages) and not asyncio.run(_postgres_reachable(postgres_url)):
        print(f"PostgreSQL not reachable at {postgres_url}: skipped", file=sys.stderr)
        return [s for s in storages if not s.postgres]
    return storages


def run_bench(args: argparse.Namespace) -> None:
    if args.bench == "chaos":
        _run_chaos(args)
        return
    if args.bench == "ussd":
        _run_ussd(args)
        return
    if args.bench == "sms":
        _run_sms(args)
        return
    if args.bench == "ivr":
        _run_ivr(args)
        return
    storages = _reachable(_storages(_csv(args.storage), args.postgres_url), args.postgres_url)
    if args.bench == "ops":
        _run_ops(args, storages)
        return
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
        context = {"operations_per_cell": per_cell, "agents": int(args.agents)}
        _write_report(args.json, "ledger", context | {"repeat": args.repeat}, {"rows": rows})


def _run_ops(args: argparse.Namespace, storages: list[Storage]) -> None:
    if args.operations < 1 or args.agents < 1:
        raise SystemExit("aircharge bench ops: --operations and --agents at least 1")
    concurrencies = [int(c) for c in _csv(args.concurrency)]
    per_cell = int(args.operations)

    def operations(concurrency: int) -> int:
        return per_cell if concurrency > 1 else max(1, per_cell // 10)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    rows = asyncio.run(run_ops_bench(storages, concurrencies, operations, args.agents, progress))
    print(ops_table(rows))
    if args.json:
        context = {"operations_per_cell": per_cell, "agents": int(args.agents)}
        _write_report(args.json, "ops", context, {"rows": rows})


def _run_chaos(args: argparse.Namespace) -> None:
    if args.requests < 10 or args.kills < 0:
        raise SystemExit("aircharge bench chaos: --requests at least 10, --kills at least 0")

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="aircharge-chaos-") as directory:
        started = time.perf_counter()
        checks = asyncio.run(
            run_chaos(args.requests, args.seed, args.kills, Path(directory), progress)
        )
        seconds = time.perf_counter() - started
    print(chaos_table(checks))
    print(f"{args.requests:,} requests in {seconds:.1f} s", file=sys.stderr)
    if args.json:
        body = {
            "bench": "chaos",
            "requests": args.requests,
            "kills": args.kills,
            "seed": args.seed,
            "seconds": round(seconds, 1),
            "checks": [dataclasses.asdict(check) for check in checks],
        }
        args.json.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    if not all(check.ok for check in checks):
        raise SystemExit(1)


def _run_sms(args: argparse.Namespace) -> None:
    if args.rate <= 0 or args.duration <= 0 or args.merchants < 1 or args.raw_messages < 1:
        raise SystemExit(
            "aircharge bench sms: --rate and --duration above 0, --merchants and --raw-messages"
            " at least 1"
        )

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    figures = asyncio.run(
        run_sms_bench(args.rate, args.duration, args.merchants, profile=args.profile,
                      progress=progress)
    )  # fmt: skip
    if args.raw:
        progress(f"raw: {args.raw_messages:,} submit_sm against each SMSC")
        raw = [figure.as_dict() for figure in raw_figures(args.raw_messages)]
        figures = dataclasses.replace(figures, raw=raw)
    print(sms_table(figures))
    if args.json:
        _write_report(args.json, "sms", {}, {"figures": figures.as_dict()})
    if not figures.money_ok:
        raise SystemExit("aircharge bench sms: money check failed (see the table)")


def _run_ussd(args: argparse.Namespace) -> None:
    profiles = _csv(args.profile)
    unknown = sorted(set(profiles) - set(PROFILES))
    if unknown or not profiles:
        raise SystemExit(
            f"aircharge bench ussd: unknown profile {unknown}; choose from {list(PROFILES)}"
        )
    journeys = _csv(args.journey)
    if not journeys or set(journeys) - set(JOURNEYS):
        raise SystemExit(f"aircharge bench ussd: --journey is one or more of {list(JOURNEYS)}")
    if args.sessions < 1 or args.duration <= 0 or args.load_processes < 1:
        raise SystemExit(
            "aircharge bench ussd: --sessions and --load-processes at least 1, --duration above 0"
        )

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    report = asyncio.run(
        run_ussd_bench(
            profiles,
            journeys,
            args.sessions,
            args.duration,
            progress,
            load_processes=args.load_processes,
            cpu_profile=args.cpu_profile,
            pstats_prefix=str(args.json) if args.json else None,
        )
    )
    print(ussd_table(report.rows))
    for cell in report.cpu:
        print(
            f"\nplatform process CPU, {cell['profile']} {cell['journey']} (under cProfile,"
            f" {cell['cpu_us_per_request']:.0f} µs CPU a request):"
        )
        print(cpu_table(cell))
    if args.json:
        context = {
            "sessions": args.sessions,
            "duration_s": args.duration,
            "load_processes": args.load_processes,
            "requests_per_journey": {"topup": 6, "menu": "4 (africastalking), 5 (json)"},
        }
        _write_report(args.json, "ussd", context, {"rows": report.rows, "cpu": report.cpu})


def _counts(value: str, option: str) -> list[int]:
    try:
        counts = [int(item) for item in _csv(value)]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise SystemExit(f"aircharge bench ivr: {option} is a list of whole numbers above 0")
    return counts


def _run_ivr(args: argparse.Namespace) -> None:
    modes = _csv(args.mode)
    if not modes or set(modes) - set(IVR_MODES):
        raise SystemExit(f"aircharge bench ivr: --mode is one or more of {list(IVR_MODES)}")
    unpaced, paced = _counts(args.calls, "--calls"), _counts(args.paced_calls, "--paced-calls")
    if min(args.duration, args.paced_duration, args.speed) <= 0 or args.load_processes < 1:
        raise SystemExit(
            "aircharge bench ivr: --duration, --paced-duration and --speed above 0,"
            " --load-processes at least 1"
        )

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    report = asyncio.run(
        run_ivr_bench(
            modes, unpaced, paced, args.duration, args.paced_duration, progress,
            load_processes=args.load_processes, speed=args.speed,
        )
    )  # fmt: skip
    print(ivr_table(report.rows))
    print("\n".join(["", *stalls_lines(report.stalls)]))
    if args.json:
        context = {
            "duration_s": args.duration,
            "paced_duration_s": args.paced_duration,
            "load_processes": args.load_processes,
            "speed": args.speed,
        }
        figures = {"rows": report.rows, "failures": report.failures, "stalls": report.stalls}
        _write_report(args.json, "ivr", context, figures)
