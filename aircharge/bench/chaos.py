"""`aircharge bench chaos`: thousands of sales, bill payments, subscriber transfers and
allotments against a faulty BOSS, with the platform killed (SIGKILL) in the middle, then every
money invariant checked, each with its figure.

The BOSS emulator runs here, in this process, and is never killed; it misbehaves as told
(time-outs, errors, lost responses, late applies). The platform runs in a child process
(`aircharge.bench.chaos_worker`) working through a seeded plan, in which some requests come
twice. The child is killed once just after BOSS applied something and before the platform
recorded it, then at other moments, and started again each time: its requests are
idempotent, so a new run simply goes through the whole plan again. Finally the faults stop
and the resolver settles what is left. Then:

- every BOSS reference belongs to exactly one platform operation, and every platform
  operation has at most one;
- per number, what BOSS applied equals what the platform posted (sales, bill payments,
  transfers in and out);
- nothing the platform posted was refused or cancelled at BOSS, and nothing BOSS applied is
  failed on the platform;
- each agent's deposit is its start, minus its posted sales, plus allotments in, minus out;
- each agent's commissions are what the plan gives on its posted sales and those below it;
- nothing is left pending, in the operations or in the journal;
- `ledger verify` passes.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from aircharge.bench.chaos_worker import PIN_KEYS
from aircharge.config import DatabaseConfig
from aircharge.database import create_engine, upgrade
from aircharge.demo_data import DEMO_AGENTS, seed_demo
from aircharge.platform import listen
from ledger.accounts import get_account
from ledger.agents import Level, find_agent
from ledger.clock import SHANGHAI as PLATFORM_SHANGHAI
from ledger.commissions import DEMO_PLAN
from ledger.money import Msisdn
from ledger.platform_accounts import ensure_platform_accounts
from ledger.schema import account_balances, agents, operations
from ledger.transfers import Transaction, TransferRequest
from ledger.verify import verify
from ledger.writer import LedgerWriter
from simulator.boss import (
    FAULTS_KEY,
    BossState,
    create_boss_app,
    open_boss_state,
    seed_demo_subscribers,
)
from simulator.boss import Msisdn as BossMsisdn

Progress = Callable[[str], None]
FUNDING_FEN: Final = 100_000_000  # ¥1,000,000 more deposit for each demo agent
FAULTS: Final = {
    "timeout_rate": 0.10,
    "error_rate": 0.05,
    "lost_response_rate": 0.05,
    "late_apply_rate": 0.02,
    "late_apply_ms": 300,
}
DUPLICATE_SHARE: Final = 0.05
RUN_TIMEOUT_S: Final = 600.0
PREPAID: Final = tuple(f"86139000000{n:02d}" for n in range(1, 11))
POSTPAID: Final = tuple(f"86137000000{n:02d}" for n in range(1, 6))
LEVEL1, LEVEL2, MERCHANT = (demo.msisdn for demo in DEMO_AGENTS)
PINS: Final = {demo.msisdn: demo.pin for demo in DEMO_AGENTS}


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    figure: str


def make_plan(requests: int, seed: int) -> list[dict[str, Any]]:
    """A seeded mix: 60 % top-ups, 15 % bill payments, 15 % subscriber transfers, 10 %
    allotments; then about 5 % of them again, later, under the same key."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible plan, not a secret
    items: list[dict[str, Any]] = []
    for n in range(requests):
        draw = rng.random()
        if draw < 0.75:
            topup = draw < 0.60
            seller = rng.choice((LEVEL1, LEVEL2, MERCHANT))
            target = rng.choice(PREPAID if topup else POSTPAID)
            amount = rng.randint(1, 50 if topup else 30) * 100
            params = {"msisdn": target, "amount_fen": amount, "pin": PINS[seller]}
            items.append(_item(n, "topup" if topup else "billpay", seller, params))
        elif draw < 0.90:
            sender = rng.choice(PREPAID)
            target = rng.choice([m for m in (*PREPAID, *POSTPAID) if m != sender])
            params = {"msisdn": target, "amount_fen": rng.randint(1, 5) * 100}
            items.append(_item(n, "transfer", sender, params))
        else:
            parent, child = rng.choice(((LEVEL1, LEVEL2), (LEVEL2, MERCHANT)))
            params = {"msisdn": child, "amount_fen": rng.randint(1, 100) * 100, "pin": PINS[parent]}
            items.append(_item(n, "allot", parent, params))
    for _ in range(round(requests * DUPLICATE_SHARE)):
        items.insert(rng.randint(len(items) // 2, len(items)), rng.choice(items[: len(items) // 2]))
    return items


def _item(n: int, name: str, actor: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"key": f"chaos:{n}", "name": name, "actor": actor, "params": params}


class _Worker:
    """One run of the platform's child process, read line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.progress = 0

    @classmethod
    async def start(cls, directory: Path, boss_url: str, *extra: str) -> _Worker:
        command = [
            sys.executable,
            "-m",
            "aircharge.bench.chaos_worker",
            "--db",
            str(directory / "chaos.db"),
            "--boss-url",
            boss_url,
            "--inbox",
            str(directory / "inbox.txt"),
            *extra,
        ]
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
        return cls(process)

    async def line(self) -> str | None:
        assert self.process.stdout is not None
        raw = await self.process.stdout.readline()
        if not raw:
            return None
        text = raw.decode().strip()
        if text.startswith("PROGRESS "):
            self.progress = int(text.split()[1])
        return text

    async def until(self, wanted: Callable[[str], bool]) -> str | None:
        while (text := await self.line()) is not None:
            if wanted(text):
                return text
        return None

    def kill(self) -> None:
        if self.process.returncode is None:
            os.kill(self.process.pid, signal.SIGKILL)

    async def wait(self) -> int:
        return await self.process.wait()


async def run_chaos(
    requests: int, seed: int, kills: int, directory: Path, progress: Progress
) -> list[Check]:
    """The whole run in `directory` (its databases, the plan and the SMS inbox)."""
    started = _day_now()
    engine = create_engine(DatabaseConfig(url=f"sqlite+aiosqlite:///{directory / 'chaos.db'}"))
    try:
        await upgrade(engine)
        await seed_demo(engine, PIN_KEYS)
        deposits_before = await _fund_agents(engine)
        state = open_boss_state(directory / "boss.db")
        seed_demo_subscribers(state)
        positions_before = {m: _position(state, m) for m in (*PREPAID, *POSTPAID)}
        app = create_boss_app(state)
        listener = await listen(app, "127.0.0.1", 0)
        try:
            plan = make_plan(requests, seed)
            plan_file = directory / "plan.jsonl"
            plan_file.write_text("".join(json.dumps(item) + "\n" for item in plan))
            await _faults(listener.url, {**FAULTS, "seed": seed})
            kills_done = await _runs(listener.url, directory, plan_file, len(plan), kills, seed)
            progress(f"{len(plan):,} requests, {len(kills_done)} kills: {'; '.join(kills_done)}")
            await _faults(listener.url, {})
            progress("faults off; the resolver settles what is left …")
            resolver = await _Worker.start(directory, listener.url, "--resolve")
            settled = resolver.until(lambda text: text == "RESOLVED")
            if await asyncio.wait_for(settled, RUN_TIMEOUT_S) is None:
                raise RuntimeError("the resolver run ended before settling everything")
            await resolver.wait()
            await app[FAULTS_KEY].settle()  # late applies that were still to come
            checks = await _checks(engine, state, deposits_before, positions_before, started)
        finally:
            await listener.runner.cleanup()
            state.close()
    finally:
        await engine.dispose()
    killed = Check("platform killed with SIGKILL", len(kills_done) >= kills, "; ".join(kills_done))
    return [killed, *checks]


async def _runs(
    boss_url: str, directory: Path, plan_file: Path, planned: int, kills: int, seed: int
) -> list[str]:
    """`kills` runs killed, each later in the plan than the one before (the first just after
    BOSS applied something), then one run through the whole plan."""
    rng = random.Random(seed + 1)  # noqa: S311 - reproducible timing, not a secret
    done: list[str] = []
    for run in range(1, kills + 2):
        worker = await _Worker.start(directory, boss_url, "--plan", str(plan_file))
        if run > kills:
            finished = worker.until(lambda text: text == "DONE")
            if await asyncio.wait_for(finished, RUN_TIMEOUT_S) is None:
                raise RuntimeError("the last run ended before going through the plan")
            await worker.wait()
            break
        floor = planned * run // (kills + 2)
        if run == 1:
            seen = await worker.until(_applied_after(worker, floor))
            what = f"just after BOSS applied {seen.split()[1]}" if seen else ""
        else:
            seen = await worker.until(_progress_after(worker, floor))
            await asyncio.sleep(rng.uniform(0.0, 0.5))
            what = f"at about {worker.progress} of {planned} requests"
        alive = worker.process.returncode is None
        worker.kill()
        await worker.wait()
        if seen is not None and alive:
            done.append(f"run {run}: {what}")
    return done


def _applied_after(worker: _Worker, floor: int) -> Callable[[str], bool]:
    return lambda text: worker.progress >= floor and text.startswith("APPLIED ")


def _progress_after(worker: _Worker, floor: int) -> Callable[[str], bool]:
    return lambda text: worker.progress >= floor


async def _faults(boss_url: str, settings: dict[str, Any]) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.put(f"{boss_url}/boss/faults", json=settings) as response,
    ):
        if response.status != 200:
            raise RuntimeError(f"BOSS refused the faults: {await response.text()}")


async def _fund_agents(engine: AsyncEngine) -> dict[str, int]:
    async with engine.begin() as conn:
        platform = await ensure_platform_accounts(conn, _now())
        agents = {demo.msisdn: await find_agent(conn, demo.msisdn) for demo in DEMO_AGENTS}
    writer = LedgerWriter(engine, label="chaos-funding")
    await writer.start()
    try:
        for number, agent in agents.items():
            assert agent is not None
            funding = TransferRequest.single(
                f"chaos:fund:{number}",
                platform.bank_clearing,
                agent.deposit_account_id,
                FUNDING_FEN,
            )
            (await writer.execute(Transaction((funding,)))).unwrap()
    finally:
        await writer.close()
    return {number: await _deposit(engine, number) for number in agents}


async def _deposit(engine: AsyncEngine, number: str) -> int:
    async with engine.connect() as conn:
        agent = await find_agent(conn, Msisdn(number))
        assert agent is not None
        return (await get_account(conn, agent.deposit_account_id)).balance


def _position(state: BossState, number: str) -> int:
    """What a number holds at BOSS: a prepaid balance, or minus a postpaid bill due."""
    subscriber = state.subscriber(BossMsisdn(number))
    assert subscriber is not None
    return int(subscriber.balance_fen) - int(subscriber.bill_due_fen)


async def _checks(
    engine: AsyncEngine,
    state: BossState,
    deposits_before: dict[str, int],
    positions_before: dict[str, int],
    started: date,
) -> list[Check]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(operations))).all()
        pending_fen = (
            await conn.execute(
                select(func.coalesce(func.sum(account_balances.c.debits_pending), 0))
            )
        ).scalar_one()
    checks: list[Check] = []
    money = [r for r in rows if r.kind in ("topup", "billpay", "transfer")]
    refs = {r.ref for r in money}
    boss_refs = _boss_refs(state, started)
    strangers = boss_refs - refs
    kinds = Counter(r.kind for r in rows)
    by_kind = ", ".join(f"{kind} {count:,}" for kind, count in sorted(kinds.items()))
    checks.append(
        Check(
            "one BOSS reference per operation",
            not strangers and len(refs) == len(money),
            f"{len(money):,} operations ({by_kind}); {len(boss_refs):,} references applied at"
            f" BOSS, {len(strangers)} unknown to the platform",
        )
    )
    posted = {r.ref for r in money if r.state == "posted"}
    applied = {ref for ref in refs if state.status(ref).status == "applied"}
    cancelled = {ref for ref in refs if state.status(ref).status == "cancelled"}
    checks.append(
        Check(
            "posted on the platform ⇔ applied at BOSS",
            posted == applied,
            f"{len(posted):,} posted, {len(applied):,} applied, {len(cancelled):,} cancelled"
            f" at BOSS ({len(posted & cancelled)} of those posted)",
        )
    )
    expected: dict[str, int] = defaultdict(int)
    for r in money:
        if r.state == "posted":
            expected[r.msisdn] += r.amount
            if r.kind == "transfer":
                expected[r.counterparty] -= r.amount
    wrong = [
        n for n in positions_before if _position(state, n) - positions_before[n] != expected[n]
    ]
    moved = sum(abs(_position(state, n) - positions_before[n]) for n in positions_before)
    checks.append(
        Check(
            "per number: BOSS applied = platform posted",
            not wrong,
            f"{len(positions_before)} numbers, {moved:,} fen moved at BOSS;"
            f" mismatched: {wrong or 'none'}",
        )
    )
    async with engine.connect() as conn:
        found = (await conn.execute(select(agents))).all()
    by_id = {row.id: row for row in found}
    earned: dict[int, int] = defaultdict(int)
    sold: dict[int, int] = defaultdict(int)
    moved_in: dict[str, int] = defaultdict(int)
    moved_out: dict[int, int] = defaultdict(int)
    for r in rows:
        if r.state != "posted":
            continue
        if r.kind in ("topup", "billpay"):
            sold[r.agent_id] += r.amount
            earned[r.agent_id] += r.amount * DEMO_PLAN.seller_bp // 10_000
            parent_id = by_id[r.agent_id].parent_id
            while parent_id is not None:
                parent = by_id[parent_id]
                earned[parent.id] += r.amount * DEMO_PLAN.override_bp(Level(parent.level)) // 10_000
                parent_id = parent.parent_id
        elif r.kind == "allot":
            moved_in[r.msisdn] += r.amount
            moved_out[r.agent_id] += r.amount
    deposits_ok, commissions_ok = [], []
    async with engine.connect() as conn:
        for number in deposits_before:
            agent = await find_agent(conn, Msisdn(number))
            assert agent is not None
            deposit = (await get_account(conn, agent.deposit_account_id)).balance
            want = deposits_before[number] - sold[agent.id] + moved_in[number] - moved_out[agent.id]
            deposits_ok.append((number, deposit, want))
            commission = (await get_account(conn, agent.commission_account_id)).balance
            commissions_ok.append((number, commission, earned[agent.id]))
    checks.append(
        Check(
            "deposit = start − posted sales + allotments in − out",
            all(d == w for _, d, w in deposits_ok),
            "; ".join(f"{n}: {d:,} (expected {w:,})" for n, d, w in deposits_ok),
        )
    )
    checks.append(
        Check(
            "commissions match the plan",
            all(c == e for _, c, e in commissions_ok),
            "; ".join(f"{n}: {c:,} fen (expected {e:,})" for n, c, e in commissions_ok),
        )
    )
    open_ops = [r for r in rows if r.state in ("reserved", "unknown", "manual")]
    checks.append(
        Check(
            "nothing left pending",
            not open_ops and pending_fen == 0,
            f"{len(open_ops)} open operations, {pending_fen:,} fen held in pending transfers",
        )
    )
    report = await verify(engine)
    checks.append(
        Check(
            "ledger verify",
            report.ok,
            f"{report.transfers:,} transfers, {report.accounts:,} accounts, {report.chains} chains,"
            f" {report.problems_total} problems",
        )
    )
    return checks


def _boss_refs(state: BossState, started: date) -> set[str]:
    """The references BOSS applied since the run began (its daily records)."""
    refs: set[str] = set()
    day = started
    while day <= _day_now():
        lines = state.records(day).splitlines()[1:]
        refs |= {line.split(",")[0] for line in lines if line}
        day += timedelta(days=1)
    return refs


def _now() -> datetime:
    return datetime.now(UTC)


def _day_now() -> date:
    return _now().astimezone(PLATFORM_SHANGHAI).date()


def table(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"{'check':<{width}}  result  figure", "-" * (width + 60)]
    lines += [f"{c.name:<{width}}  {'ok' if c.ok else 'FAILED':<6}  {c.figure}" for c in checks]
    return "\n".join(lines)
