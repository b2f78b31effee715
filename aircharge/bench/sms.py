"""`aircharge bench sms`: top-ups by SMS end to end, and the SMPP link's raw submit rate.

End to end, three processes on loopback, so that each has a core's worth of its own:
- this one: the SMSC emulator and its handsets, sending `CZ <number> <amount> 333333` from
  `merchants` merchants at `rate` MOs per second, and timing MO -> first MT (the reply);
- the platform (`aircharge.bench.sms_worker`): SQLite, bound to the SMSC over SMPP, calling
- the BOSS emulator (`python -m simulator.boss`, in memory).
Each merchant's commands differ (number and amount cycle), so none falls in the duplicate
window. After a warm-up, the run lasts `duration` seconds; then the figures: top-ups per second
(replies received over the time from the first MO to the last reply), p50/p99 MO -> reply, the
platform's resident memory before and after, CPU seconds per process, and with `--profile`
the platform's CPU by component. Money is checked, not assumed: what BOSS credited must equal
the sum of every MO's amount, and the ledger must verify.

Raw (`--raw`): one SMPP link submitting single-part submit_sm with a window of 64, against the
SMSC emulator (`python -m simulator.smsc`, its own process) and against a minimal SMSC that
only answers (`aircharge.bench.esme`), the link's own ceiling.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp

from aircharge.bench.agents import merchant_number
from aircharge.bench.esme import RawSubmitFigures, measure_raw_submit
from aircharge.bench.processes import boss_process
from simulator.smsc import Smsc, SmscConfig, send_mo_at_rate

PREPAID: Final = tuple(f"139{n:08d}" for n in range(1, 11))  # the BOSS demo subscribers
PREPAID_START_FEN: Final = 1_000
AMOUNTS_YUAN: Final = 500  # amounts cycle 1..500 yuan, then the number changes
warmup_s_default: Final = 3.0
drain_s_max: Final = 30.0  # after the last MO, wait this long at most for the replies
start_s_max: Final = 120.0
rss_interval_s: Final = 10.0

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class SmsFigures:
    rate_offered: float
    duration_s: float
    merchants: int
    mo_sent: int
    replies: int
    topups_per_s: float
    p50_ms: float
    p99_ms: float
    messages: int  # MO and MT handled by the platform in the measured run
    rss_before_mb: float
    rss_after_mb: float
    rss_samples_mb: list[float]  # the platform's, every `rss_interval_s` during the run
    cpu_s: dict[str, float]
    components: dict[str, float]
    boss_credited_fen: int
    expected_fen: int
    ledger_ok: bool
    raw: list[dict[str, Any]] = field(default_factory=list)

    @property
    def money_ok(self) -> bool:
        return self.ledger_ok and self.boss_credited_fen == self.expected_fen

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"money_ok": self.money_ok}


def command(turn: int) -> tuple[str, int]:
    """A merchant's `turn`-th MO: its text and amount in fen (none repeats for 5,000 turns)."""
    amount = 1 + turn % AMOUNTS_YUAN
    target = PREPAID[(turn // AMOUNTS_YUAN) % len(PREPAID)]
    return f"CZ {target} {amount} 333333", amount * 100


def _process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _sample_rss(pid: int, samples: list[float]) -> None:
    while True:
        samples.append(round(_rss_mb(pid), 1))
        await asyncio.sleep(rss_interval_s)


async def _boss_balances(http: aiohttp.ClientSession, url: str) -> int:
    total = 0
    for msisdn in PREPAID:
        async with http.get(f"{url}/boss/subscribers/{msisdn}") as response:
            total += int((await response.json())["balance"])
    return total


def _replies(smsc: Smsc, senders: list[str]) -> int:
    """Replies the merchants received: one per MO (a top-up's receipt, or a refusal)."""
    return sum(smsc.handset(sender).received_total for sender in senders)


async def _drain(smsc: Smsc, senders: list[str], sent: int, deadline_s: float) -> None:
    """Until every MO sent so far has its reply (or the deadline)."""
    end = time.perf_counter() + deadline_s
    while _replies(smsc, senders) < sent and time.perf_counter() < end:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


async def run_sms_bench(
    rate: float,
    duration_s: float,
    merchants: int,
    *,
    profile: bool = False,
    warmup_s: float = warmup_s_default,
    progress: Progress = lambda _: None,
) -> SmsFigures:
    senders = [merchant_number(n) for n in range(merchants)]
    turns = dict.fromkeys(senders, 0)  # across the warm-up and the run: no command repeats
    expected = 0

    def text(sender: str, _index: int) -> str:
        nonlocal expected
        body, fen = command(turns[sender])
        turns[sender] += 1
        expected += fen
        return body

    with tempfile.TemporaryDirectory(prefix="aircharge-bench-sms-") as directory:
        async with boss_process(None) as boss:
            smsc = Smsc(config=SmscConfig(inbox_max=1))
            await smsc.start("127.0.0.1", 0)
            worker: asyncio.subprocess.Process | None = None
            try:
                worker_args = [
                    "-m", "aircharge.bench.sms_worker", "--dir", directory, "--boss-url", boss.url,
                    "--smsc-port", str(smsc.port), "--merchants", str(merchants),
                ]  # fmt: skip
                if profile:
                    worker_args.append("--profile")
                worker = await asyncio.create_subprocess_exec(
                    sys.executable, *worker_args,
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                )  # fmt: skip
                assert worker.stdout is not None
                assert worker.stdin is not None
                progress(f"platform starting with {merchants:,} merchants")
                async with asyncio.timeout(start_s_max):
                    while (await worker.stdout.readline()).strip() != b"ready":
                        if worker.returncode is not None:
                            raise RuntimeError("the platform worker stopped before it was ready")
                progress(f"warming up for {warmup_s:.0f} s")
                warmup = int(rate * warmup_s)
                await send_mo_at_rate(smsc, senders, text, rate, warmup)
                await _drain(smsc, senders, warmup, drain_s_max)
                smsc.latency.reset()
                replies_before = _replies(smsc, senders)
                pids = {"platform": worker.pid, "boss": boss.pid, "smsc+load": os.getpid()}
                cpu_before = {name: _process_cpu_s(pid) for name, pid in pids.items()}
                rss_before = _rss_mb(worker.pid)
                submits_before = smsc.submits
                count = int(rate * duration_s)
                progress(f"sending {count:,} MOs at {rate:,.0f}/s")
                started = time.perf_counter()
                samples: list[float] = []
                sampler = asyncio.create_task(_sample_rss(worker.pid, samples))
                await send_mo_at_rate(smsc, senders, text, rate, count)
                await _drain(smsc, senders, warmup + count, drain_s_max)
                sampler.cancel()
                elapsed = time.perf_counter() - started
                replies = _replies(smsc, senders) - replies_before
                cpu = {name: _process_cpu_s(pid) - cpu_before[name] for name, pid in pids.items()}
                rss_after = _rss_mb(worker.pid)
                messages = count + (smsc.submits - submits_before)
                worker.stdin.write(b"stop\n")
                await worker.stdin.drain()
                report = await _report(worker)
                async with aiohttp.ClientSession() as http:
                    balances = await _boss_balances(http, boss.url)
                credited = balances - PREPAID_START_FEN * len(PREPAID)
            finally:
                if worker is not None and worker.returncode is None:
                    worker.kill()
                    await worker.wait()
                await smsc.close()
    latency = smsc.latency
    return SmsFigures(
        rate_offered=rate,
        duration_s=round(elapsed, 3),
        merchants=merchants,
        mo_sent=count,
        replies=replies,
        topups_per_s=replies / elapsed,
        p50_ms=latency.percentile(0.50) * 1000,
        p99_ms=latency.percentile(0.99) * 1000,
        messages=messages,
        rss_before_mb=round(rss_before, 1),
        rss_after_mb=round(rss_after, 1),
        rss_samples_mb=samples,
        cpu_s={name: round(seconds, 2) for name, seconds in cpu.items()},
        components={name: round(share, 3) for name, share in report["components"].items()},
        boss_credited_fen=credited,
        expected_fen=expected,
        ledger_ok=bool(report["ledger_ok"]),
    )


async def _report(worker: asyncio.subprocess.Process) -> dict[str, Any]:
    assert worker.stdout is not None
    async with asyncio.timeout(120):
        line = await worker.stdout.readline()
        await worker.wait()
    report: dict[str, Any] = json.loads(line)
    return report


def raw_figures(messages: int) -> list[RawSubmitFigures]:
    """The link against the SMSC emulator, then against the minimal SMSC."""
    return [
        measure_raw_submit(messages, target="emulator"),
        measure_raw_submit(messages, target="minimal"),
    ]


def table(figures: SmsFigures) -> str:
    rows = [
        ("offered MO/s", f"{figures.rate_offered:,.0f}"),
        ("seconds (first MO to last reply)", f"{figures.duration_s:,.1f}"),
        ("merchants", f"{figures.merchants:,}"),
        ("MOs sent / replies", f"{figures.mo_sent:,} / {figures.replies:,}"),
        ("top-ups/s", f"{figures.topups_per_s:,.0f}"),
        ("MO -> reply p50 / p99 ms", f"{figures.p50_ms:,.1f} / {figures.p99_ms:,.1f}"),
        ("messages (MO + MT)", f"{figures.messages:,}"),
        ("platform RSS before / after MB", f"{figures.rss_before_mb} / {figures.rss_after_mb}"),
        (
            f"platform RSS every {rss_interval_s:.0f} s MB",
            " ".join(f"{mb:.0f}" for mb in figures.rss_samples_mb),
        ),
        ("CPU s " + ", ".join(figures.cpu_s), " / ".join(map(str, figures.cpu_s.values()))),
        ("BOSS credited = MOs' amounts", f"{figures.boss_credited_fen == figures.expected_fen}"),
        ("ledger verifies", str(figures.ledger_ok)),
    ]
    rows += [
        (f"  platform CPU: {name}", f"{share:.1%}") for name, share in figures.components.items()
    ]
    rows += [
        (f"raw submit_sm/s vs {raw['target']} SMSC", f"{raw['submits_per_s']:,.0f}")
        for raw in figures.raw
    ]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


__all__ = ["SmsFigures", "command", "raw_figures", "run_sms_bench", "table"]
