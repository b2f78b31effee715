"""`aircharge bench ussd`: the USSD callback under N concurrent top-up journeys.

The platform runs as in the demo (SQLite with durable commits, the BOSS emulator on loopback,
the merchant funded and the sales limits lifted so the journeys never run out); the load
generator (`aircharge.bench.ussd_load`, the USSD gateway emulator) runs in a process of its
own. Every journey is 6 requests: the dial and 5 answers (menu, number, amount, PIN,
confirmation), the last of which tops up ¥1 through BOSS.

Baseline, measured in the same run with the same load generator: a stub server in this
process that parses each request with the same profile codec and answers a fixed page — the
cost of HTTP and the codec alone, without the session store, the dialog engine or the ledger.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from aircharge.bench.stats import percentile
from aircharge.bench.ussd_load import MERCHANT
from aircharge.config import Config, LimitsConfig, PlatformConfig, SimulatorConfig, UssdConfig
from aircharge.demo import start_demo
from aircharge.platform import listen
from channels.ussd.profiles import PROFILES
from ledger.gateways.bank import BankNotification
from ledger.money import CURRENCY, Fen
from ledger.operations import OperationService

FUNDING_FEN = 10**11
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class UssdRow:
    target: str  # "platform" or "baseline"
    profile: str
    sessions: int
    seconds: float
    requests: int
    journeys: int
    failures: int
    requests_per_s: float
    journeys_per_s: float
    p50_ms: float
    p99_ms: float


COLUMNS = (
    ("target", "{:<9}", "target"),
    ("profile", "{:<14}", "profile"),
    ("sessions", "{:>5}", "sess"),
    ("requests", "{:>8,}", "requests"),
    ("journeys", "{:>8,}", "journeys"),
    ("failures", "{:>5}", "fail"),
    ("requests_per_s", "{:>8,.0f}", "req/s"),
    ("journeys_per_s", "{:>8,.0f}", "jrn/s"),
    ("p50_ms", "{:>7.2f}", "p50 ms"),
    ("p99_ms", "{:>7.2f}", "p99 ms"),
)


def table(rows: Sequence[UssdRow]) -> str:
    cells = [[fmt.format(getattr(row, name)).strip() for name, fmt, _ in COLUMNS] for row in rows]
    widths = [
        max([len(title)] + [len(line[i]) for line in cells])
        for i, (_, _, title) in enumerate(COLUMNS)
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.ljust(width) if i < 2 else value.rjust(width)
            for i, (value, width) in enumerate(zip(values, widths, strict=True))
        )

    header = line([title for _, _, title in COLUMNS])
    return "\n".join([header, "-" * len(header), *(line(c) for c in cells)])


async def _fund(operations: OperationService) -> None:
    """Credit the merchant enough deposit for any run, as a bank deposit would."""
    now = datetime.now(UTC)
    notification = BankNotification(
        txn_id=f"bench-ussd-{now.timestamp():.0f}",
        amount=Fen(FUNDING_FEN),
        currency=CURRENCY,
        payer_name="bench",
        payer_account="6222020000000000000",
        reference=MERCHANT,
        value_date=now.date(),
        booked_at=now,
    )
    receipt = await operations.deposit(notification)
    assert receipt.verdict == "credited", receipt


async def _load(
    url: str, profile: str, sessions: int, duration_s: float, baseline: bool
) -> dict[str, Any]:
    command = [
        sys.executable, "-m", "aircharge.bench.ussd_load", "--url", url, "--profile", profile,
        "--sessions", str(sessions), "--duration", str(duration_s),
    ]  # fmt: skip
    if baseline:
        command.append("--baseline")
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the load generator failed: {err.decode(errors='replace')[-2000:]}")
    result: dict[str, Any] = json.loads(out)
    return result


def _row(target: str, profile: str, sessions: int, result: dict[str, Any]) -> UssdRow:
    latencies = sorted(result["latencies_ms"])
    seconds = result["seconds"]
    return UssdRow(
        target=target,
        profile=profile,
        sessions=sessions,
        seconds=round(seconds, 2),
        requests=result["requests"],
        journeys=result["journeys"],
        failures=sum(result["failures"].values()),
        requests_per_s=result["requests"] / seconds,
        journeys_per_s=result["journeys"] / seconds,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
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


async def run_ussd_bench(
    profiles: Sequence[str], sessions: int, duration_s: float, progress: Progress
) -> list[UssdRow]:
    rows: list[UssdRow] = []
    for profile in profiles:
        stub = await listen(_stub_app(profile), "127.0.0.1", 0)
        try:
            result = await _load(f"{stub.url}/ussd/callback", profile, sessions, duration_s, True)
        finally:
            await stub.runner.cleanup()
        rows.append(_row("baseline", profile, sessions, result))
        progress(f"baseline {profile}: {rows[-1].requests_per_s:,.0f} requests/s")
        with tempfile.TemporaryDirectory(prefix="aircharge-bench-ussd-") as directory:
            rows.append(await _platform_run(Path(directory), profile, sessions, duration_s))
        progress(f"platform {profile}: {rows[-1].requests_per_s:,.0f} requests/s")
    return rows


async def _platform_run(directory: Path, profile: str, sessions: int, duration_s: float) -> UssdRow:
    big = 10**12
    config = Config(
        platform=PlatformConfig(http_port=0, log_level="WARNING"),
        simulator=SimulatorConfig(boss_port=0, bank_port=0, smsc_port=0, smsc_http_port=0),
        ussd=UssdConfig(profile=profile),
        limits=replace(
            LimitsConfig(), daily_amount_fen=big, daily_count=10**9, subscriber_daily_fen=big
        ),
    )
    stack = await start_demo(config, directory)
    try:
        await _fund(stack.platform.operations)
        url = f"{stack.platform.url}/ussd/callback"
        result = await _load(url, profile, sessions, duration_s, False)
    finally:
        await stack.close()
    return _row("platform", profile, sessions, result)
