"""`aircharge bench ivr`: whole top-up calls through the Asterisk emulator into FastAGI.

Three kinds of process, as in `bench ussd`: this one runs the platform (`bench_platform`:
SQLite with durable commits, the demo merchant funded) and the baseline's stub server; the
BOSS emulator runs in its own; the load (`aircharge.bench.ivr_load`, the Asterisk emulator)
in `load_processes` of its own, the callers split between them.

Two call models, each call a whole top-up (menu, number, amount, PIN, confirm, the result):

- **unpaced**: callers answer at once, so the platform's own speed shows: calls completed
  per second, the p50/p99 of every command's round trip (the platform's time from the
  emulator's reply to its next command) and the p99 of the command that ran the operation;
- **paced**: prompts take their spoken length and callers think 2–4 s per input, as people
  do; N such calls at once for the duration: does the platform hold them with p99 per
  command under `held_p99_ms`?

Baseline, in the same run with the same emulator and callers: a stub FastAGI server in this
process that sends each call the very commands of one recorded platform top-up call (every
STREAM FILE, GET DATA and the HANGUP, in order) with no dialog engine, ledger or BOSS behind
them — the cost of the AGI transport and codec alone.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from aircharge.bench.ivr_load import SUBSCRIBERS, topup_script
from aircharge.bench.platform import MERCHANT, bench_platform
from aircharge.bench.processes import boss_process, json_process, merged_failures, split
from aircharge.bench.stalls import watched
from aircharge.bench.stats import percentile
from aircharge.bench.tables import render
from aircharge.ivr_sounds import platform_sounds
from aircharge.runtime import settled_heap
from channels.ivr.agi_wire import Command, parse_command
from channels.ivr.session import AgiSession, CallGone
from dialogs.catalogue import Catalogue
from simulator.asterisk.emulator import AsteriskEmulator
from simulator.asterisk.record import Ending

Progress = Callable[[str], None]
held_p99_ms: Final = 50.0  # a paced load is held when every command's p99 stays under this
MODES: Final = ("unpaced", "paced")


@dataclass(frozen=True, slots=True)
class IvrRow:
    target: str  # "platform" or "baseline"
    mode: str  # "unpaced" or "paced"
    calls: int  # concurrent callers
    active_mean: float  # calls up at once, sampled each second (paced: after the ramp)
    seconds: float
    completed: int  # calls that ran to their end (top-ups, for the platform)
    failures: int
    calls_per_s: float
    commands_per_s: float
    p50_ms: float
    p99_ms: float
    operation_p99_ms: float
    held: bool  # paced: p99 per command < held_p99_ms and no failure


@dataclass
class IvrReport:
    rows: list[IvrRow] = field(default_factory=list)
    failures: list[dict[str, int]] = field(default_factory=list)
    stalls: list[dict[str, Any]] = field(default_factory=list)  # per platform cell


COLUMNS = (
    ("target", "{:<9}", "target"),
    ("mode", "{:<8}", "mode"),
    ("calls", "{:>6,}", "calls"),
    ("active_mean", "{:>7,.0f}", "up"),
    ("completed", "{:>7,}", "done"),
    ("failures", "{:>5}", "fail"),
    ("calls_per_s", "{:>7,.1f}", "calls/s"),
    ("commands_per_s", "{:>8,.0f}", "cmds/s"),
    ("p50_ms", "{:>7.2f}", "p50 ms"),
    ("p99_ms", "{:>7.2f}", "p99 ms"),
    ("operation_p99_ms", "{:>7.1f}", "op p99"),
    ("held", "{!s:>5}", "held"),
)
_TEXT_COLUMNS: Final = 2


def table(rows: Sequence[IvrRow]) -> str:
    return render(rows, COLUMNS, _TEXT_COLUMNS)


def stalls_lines(stalls: Sequence[dict[str, Any]]) -> list[str]:
    """One line per platform cell: what stalled the platform's loop meanwhile."""
    return [
        f"platform {cell['mode']} {cell['calls']:,}: loop lag p99 {cell['loop_lag_p99_ms']} ms,"
        f" max {cell['loop_lag_max_ms']} ms; GC {cell['gc_passes']} passes, longest"
        f" {cell['gc_pause_max_ms']} ms; {cell['gc_full_passes']} full, longest"
        f" {cell['gc_full_pause_max_ms']} ms"
        for cell in stalls
    ]


@dataclass(frozen=True, slots=True)
class LoadPlan:
    mode: str
    calls: int
    duration_s: float
    processes: int
    speed: float = 1.0  # paced time runs this many times faster (tests only)


async def _one_load(port: int, plan: LoadPlan, calls: int, first: int, baseline: bool) -> Any:
    command = [
        sys.executable, "-m", "aircharge.bench.ivr_load", "--port", str(port),
        "--calls", str(calls), "--duration", str(plan.duration_s), "--first", str(first),
    ]  # fmt: skip
    if plan.mode == "paced":
        command += ["--paced", "--speed", str(plan.speed)]
    if baseline:
        command.append("--baseline")
    return await json_process(command, "the IVR load")


async def _load(port: int, plan: LoadPlan, baseline: bool) -> dict[str, Any]:
    """The plan's callers split over its processes, run at once, their results merged."""
    results = await asyncio.gather(
        *(
            _one_load(port, plan, n, first, baseline)
            for n, first in split(plan.calls, plan.processes)
        )
    )
    return {
        "seconds": max(result["seconds"] for result in results),
        "calls": sum(result["calls"] for result in results),
        "completed": sum(result["completed"] for result in results),
        "failures": merged_failures(results),
        "latencies_ms": [v for result in results for v in result["latencies_ms"]],
        "operation_ms": [v for result in results for v in result["operation_ms"]],
        # calls up in all processes together, second by second
        "active": [sum(column) for column in zip(*(r["active"] for r in results), strict=False)],
    }


def _row(target: str, plan: LoadPlan, result: dict[str, Any]) -> IvrRow:
    latencies = sorted(result["latencies_ms"])
    operations = sorted(result["operation_ms"])
    seconds = result["seconds"]
    failures = sum(result["failures"].values())
    p99 = percentile(latencies, 0.99) if latencies else 0.0
    return IvrRow(
        target=target,
        mode=plan.mode,
        calls=plan.calls,
        active_mean=sum(result["active"]) / len(result["active"]) if result["active"] else 0.0,
        seconds=round(seconds, 2),
        completed=result["completed"],
        failures=failures,
        calls_per_s=result["completed"] / seconds,
        commands_per_s=len(latencies) / seconds,
        p50_ms=percentile(latencies, 0.50) if latencies else 0.0,
        p99_ms=p99,
        operation_p99_ms=percentile(operations, 0.99) if operations else 0.0,
        held=plan.mode == "paced"
        and plan.speed == 1.0
        and failures == 0
        and bool(latencies)
        and p99 < held_p99_ms,
    )


def _commands(lines: Sequence[str]) -> tuple[Command, ...]:
    """A recorded call's command lines as commands again."""
    commands = []
    for line in lines:
        words = parse_command(line)
        verb = 2 if words[0] in ("STREAM", "GET") else 1
        commands.append(Command(tuple(words[:verb]), tuple(words[verb:])))
    return tuple(commands)


def _stub(shape: Sequence[Command]) -> Callable[..., Awaitable[None]]:
    """The baseline server: each call gets the commands of a recorded platform call, in
    order, with nothing behind them (no engine, ledger or BOSS)."""

    async def call(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = AgiSession(reader, writer)
        try:
            await session.environment(5.0)
            for command in shape:
                await session.run(command)
        except (CallGone, TimeoutError):
            pass
        finally:
            await session.close()

    return call


async def _shape(port: int) -> tuple[Command, ...]:
    """The commands of one whole top-up call on the platform."""
    emulator = AsteriskEmulator("127.0.0.1", port, platform_sounds(Catalogue.load()))
    record = await emulator.place_call("main", MERCHANT, "zh", topup_script(SUBSCRIBERS[0]))
    assert record.ending is Ending.PLATFORM_HUNG_UP, record
    return _commands([command.line for command in record.commands])


async def _baseline(plan: LoadPlan, shape: Sequence[Command]) -> IvrRow:
    server = await asyncio.start_server(_stub(shape), "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    try:
        result = await _load(port, plan, True)
    finally:
        server.close()
        await server.wait_closed()
    return _row("baseline", plan, result)


async def run_ivr_bench(
    modes: Sequence[str],
    unpaced_calls: Sequence[int],
    paced_calls: Sequence[int],
    duration_s: float,
    paced_duration_s: float,
    progress: Progress,
    *,
    load_processes: int = 2,
    speed: float = 1.0,
) -> IvrReport:
    report = IvrReport()
    plans = [
        *(LoadPlan("unpaced", n, duration_s, load_processes) for n in unpaced_calls),
        *(LoadPlan("paced", n, paced_duration_s, load_processes, speed) for n in paced_calls),
    ]
    plans = [plan for plan in plans if plan.mode in modes]
    with tempfile.TemporaryDirectory(prefix="aircharge-bench-ivr-") as name:
        directory = Path(name)
        async with (
            boss_process(directory / "boss.db") as boss,
            bench_platform(directory, boss.url) as platform,
        ):
            assert platform.ivr is not None, "the bench runs with IVR on"
            shape = await _shape(platform.ivr.port)
            progress(f"one top-up call is {len(shape)} AGI commands")
            for plan in plans:
                if plan.mode == "unpaced":  # the platform idles meanwhile
                    report.rows.append(await _baseline(plan, shape))
                    row = report.rows[-1]
                    progress(f"baseline unpaced {plan.calls}: {row.calls_per_s:,.1f} calls/s")
            for plan in plans:
                with settled_heap():
                    async with watched() as stalls:
                        result = await _load(platform.ivr.port, plan, False)
                report.rows.append(_row("platform", plan, result))
                report.failures.append(result["failures"])
                report.stalls.append({"mode": plan.mode, "calls": plan.calls, **stalls.summary()})
                row = report.rows[-1]
                progress(
                    f"platform {plan.mode} {plan.calls}: {row.calls_per_s:,.1f} calls/s,"
                    f" p99 {row.p99_ms:.1f} ms per command"
                )
    return report


__all__ = ["MODES", "IvrReport", "IvrRow", "held_p99_ms", "run_ivr_bench", "table"]
