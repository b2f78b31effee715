"""`aircharge bench ussd`: the USSD callback under N concurrent journeys.

Three kinds of process, so that each has a core to itself as far as two vCPUs allow:

- this process runs the platform as `serve` would (SQLite with durable commits, the heap
  settled after start, the merchant funded and the sales limits lifted so the journeys never
  run out) and, for the baseline, a stub server;
- the BOSS emulator (`python -m simulator.boss`) runs in a process of its own;
- the load (`aircharge.bench.ussd_load`, the USSD gateway emulator) runs in
  `load_processes` processes of its own, the sessions split between them.

Journeys (see `ussd_load`): `topup` is 6 requests ending in a real ¥1 top-up through BOSS;
`menu` walks the same menus up to the amount and then leaves, so no operation runs and the
channel's own ceiling (HTTP, engine, session store) shows apart from the operations layer.

Baseline, measured in the same run with the same load generator: a stub server in this
process that parses each request with the same profile codec and answers a fixed page — the
cost of HTTP and the codec alone, without the session store, the dialog engine or the ledger.

With `cpu_profile`, each platform cell runs a second time under cProfile (its figures are
not the table's): where this process's CPU went, by component (`aircharge.bench.cpu`).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from aircharge.bench.cpu import CpuProfile
from aircharge.bench.platform import bench_platform
from aircharge.bench.processes import boss_process, json_process, merged_failures, split
from aircharge.bench.stats import percentile
from aircharge.bench.tables import render
from aircharge.config import UssdConfig
from aircharge.platform import listen
from aircharge.runtime import settled_heap
from channels.ussd.profiles import PROFILES

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class UssdRow:
    target: str  # "platform" or "baseline"
    profile: str
    journey: str  # "topup" or "menu"
    sessions: int
    seconds: float
    requests: int
    journeys: int
    failures: int
    requests_per_s: float
    journeys_per_s: float
    p50_ms: float
    p99_ms: float


@dataclass
class UssdReport:
    rows: list[UssdRow] = field(default_factory=list)
    cpu: list[dict[str, Any]] = field(default_factory=list)  # one per profiled platform cell


COLUMNS = (
    ("target", "{:<9}", "target"),
    ("profile", "{:<14}", "profile"),
    ("journey", "{:<6}", "journey"),
    ("sessions", "{:>5}", "sess"),
    ("requests", "{:>8,}", "requests"),
    ("journeys", "{:>8,}", "journeys"),
    ("failures", "{:>5}", "fail"),
    ("requests_per_s", "{:>8,.0f}", "req/s"),
    ("journeys_per_s", "{:>8,.0f}", "jrn/s"),
    ("p50_ms", "{:>7.2f}", "p50 ms"),
    ("p99_ms", "{:>7.2f}", "p99 ms"),
)
_TEXT_COLUMNS: Final = 3


def table(rows: Sequence[UssdRow]) -> str:
    return render(rows, COLUMNS, _TEXT_COLUMNS)


@dataclass(frozen=True, slots=True)
class LoadPlan:
    profile: str
    journey: str
    sessions: int
    duration_s: float
    processes: int


async def _one_load(url: str, plan: LoadPlan, sessions: int, first: int, baseline: bool) -> Any:
    command = [
        sys.executable, "-m", "aircharge.bench.ussd_load", "--url", url,
        "--profile", plan.profile, "--journey", plan.journey, "--sessions", str(sessions),
        "--duration", str(plan.duration_s), "--first", str(first),
    ]  # fmt: skip
    if baseline:
        command.append("--baseline")
    return await json_process(command, "the load generator")


async def _load(url: str, plan: LoadPlan, baseline: bool) -> dict[str, Any]:
    """The plan's sessions split over its processes, run at once, their results merged."""
    results = await asyncio.gather(
        *(
            _one_load(url, plan, n, first, baseline)
            for n, first in split(plan.sessions, plan.processes)
        )
    )
    return {
        "seconds": max(result["seconds"] for result in results),
        "requests": sum(result["requests"] for result in results),
        "journeys": sum(result["journeys"] for result in results),
        "failures": merged_failures(results),
        "latencies_ms": [value for result in results for value in result["latencies_ms"]],
    }


def _row(target: str, plan: LoadPlan, result: dict[str, Any]) -> UssdRow:
    latencies = sorted(result["latencies_ms"])
    seconds = result["seconds"]
    return UssdRow(
        target=target,
        profile=plan.profile,
        journey=plan.journey,
        sessions=plan.sessions,
        seconds=round(seconds, 2),
        requests=result["requests"],
        journeys=result["journeys"],
        failures=sum(result["failures"].values()),
        requests_per_s=result["requests"] / seconds,
        journeys_per_s=result["journeys"] / seconds,
        p50_ms=percentile(latencies, 0.50) if latencies else 0.0,
        p99_ms=percentile(latencies, 0.99) if latencies else 0.0,
    )


def _stub_app(profile: str) -> web.Application:
    codec = PROFILES[profile]

    async def callback(request: web.Request) -> web.Response:
        turn = codec.parse_request(await request.read())
        reply = codec.render_reply(turn, "请输入充值号码", False)
        return web.Response(
            body=reply.body, status=reply.status, headers={"Content-Type": reply.content_type}
        )

    app = web.Application()
    app.router.add_post("/ussd/callback", callback)
    return app


async def _baseline(plan: LoadPlan) -> UssdRow:
    stub = await listen(_stub_app(plan.profile), "127.0.0.1", 0)
    try:
        result = await _load(f"{stub.url}/ussd/callback", plan, True)
    finally:
        await stub.runner.cleanup()
    return _row("baseline", plan, result)


async def run_ussd_bench(
    profiles: Sequence[str],
    journeys: Sequence[str],
    sessions: int,
    duration_s: float,
    progress: Progress,
    *,
    load_processes: int = 1,
    cpu_profile: bool = False,
    pstats_prefix: str | None = None,
) -> UssdReport:
    report = UssdReport()
    for profile in profiles:
        plans = [LoadPlan(profile, j, sessions, duration_s, load_processes) for j in journeys]
        for plan in plans:
            report.rows.append(await _baseline(plan))
            progress(
                f"baseline {profile} {plan.journey}: {report.rows[-1].requests_per_s:,.0f} req/s"
            )
        with tempfile.TemporaryDirectory(prefix="aircharge-bench-ussd-") as name:
            directory = Path(name)
            async with (
                boss_process(directory / "boss.db") as boss,
                bench_platform(directory, boss.url, ussd=UssdConfig(profile=profile)) as platform,
            ):
                url = f"{platform.url}/ussd/callback"
                for plan in plans:
                    with settled_heap():
                        result = await _load(url, plan, False)
                    report.rows.append(_row("platform", plan, result))
                    progress(
                        f"platform {profile} {plan.journey}:"
                        f" {report.rows[-1].requests_per_s:,.0f} req/s"
                    )
                    if cpu_profile:
                        report.cpu.append(await _profiled(url, plan, pstats_prefix))
    return report


async def _profiled(url: str, plan: LoadPlan, pstats_prefix: str | None) -> dict[str, Any]:
    profile = CpuProfile()
    with settled_heap():
        profile.start()
        try:
            result = await _load(url, plan, False)
        finally:
            profile.stop()
    if pstats_prefix is not None:
        profile.dump(f"{pstats_prefix}.{plan.profile}.{plan.journey}.pstats")
    summary = profile.summary()
    row = _row("platform", plan, result)
    return {
        "profile": plan.profile,
        "journey": plan.journey,
        "requests": row.requests,
        "requests_per_s_profiled": round(row.requests_per_s, 1),
        "cpu_us_per_request": round(summary["process_cpu_s"] / max(1, row.requests) * 1e6, 1),
        **summary,
    }
