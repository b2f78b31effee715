"""A LedgerWriter in its own OS process, driven by the concurrency and crash tests.

    python -m tests.ledger.writer_process --mode debit --url URL --schema S --label L \\
        --hot 1 --agents 2,3,4 --prefix a --tasks 300 --rounds shared,unique --seed X
    python -m tests.ledger.writer_process --mode stream --url URL --label L \\
        --hot 1 --agents 2,3,4 --prefix a --tasks 48 --acks FILE

`debit`: start a writer, then run the `--rounds` (a comma-separated list of `shared` and
`unique`), each after printing `round <r>` and reading a line from stdin, so that several
processes start each round together. In a round `--tasks` concurrent tasks make one operation
each, debiting the agents toward the hot account: a single, or a pending followed by its post
or its void (a second transaction, sent once the pending succeeded); one in six is a refill
from the hot account, so an agent's money comes back in small amounts to be raced for again.
In a `shared` round every `--shared-every`th operation has a key, and content, that every
process derives alike from `--seed`, so the processes race to write the same transfers; a
`unique` round has only this process's keys, so the processes race for the money alone (a
batch that meets another process's key is retried from fresh reads, which would hide a
missing lock). Prints one JSON line: counts, the failures other than a lack of money (key,
error code, error), the transfers of every successful transaction (key -> kind, debit,
credit, amount) and the keys it wrote first.

`stream`: submit transactions from `--tasks` tasks until killed. A transaction's keys are
`<prefix>-<n>-<legs>-<leg>`; once it succeeds, its keys are appended as one line to `--acks`,
flushed and fsync'ed before the task submits its next. So the file never claims more than the
ledger acknowledged, and at most `--tasks` committed transactions are missing from it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, Final

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from aircharge.config import DatabaseConfig
from aircharge.database import create_engine, is_sqlite
from ledger import errors
from ledger.accounts import AccountFlag, create_account
from ledger.money import AccountId
from ledger.transfers import Transaction, TransferRequest
from ledger.writer import LedgerWriter

debit_amount_fen_min: Final = 50
debit_amount_fen_max: Final = 500
stream_amount_fen_max: Final = 1_000


def open_engine(url: str, schema: str | None, label: str) -> AsyncEngine:
    """SQLite through the platform's own engine (WAL, synchronous FULL, BEGIN IMMEDIATE);
    PostgreSQL in `schema`, its sessions named `label` in pg_stat_activity."""
    if is_sqlite(url):
        return create_engine(DatabaseConfig(url=url, sqlite_synchronous="FULL"))
    settings = {"application_name": label}
    if schema is not None:
        settings["search_path"] = schema
    return create_async_engine(url, connect_args={"server_settings": settings})


async def open_books(
    engine: AsyncEngine, agents_count: int, fund_fen: int
) -> tuple[AccountId, list[AccountId]]:
    """A hot platform account and `agents_count` limited agent deposits, each funded from it
    with `fund_fen` (keys `fund-<i>`)."""
    now = datetime.now(UTC)
    limited = AccountFlag.DEBITS_MUST_NOT_EXCEED_CREDITS
    async with engine.begin() as conn:
        hot = await create_account(conn, "platform", "platform", AccountFlag.HOT, now)
        agents = [
            await create_account(conn, f"agent-{i}", "deposit", limited, now)
            for i in range(agents_count)
        ]
    writer = LedgerWriter(engine, label="funding")
    await writer.start()
    try:
        for i, agent in enumerate(agents):
            request = TransferRequest.single(f"fund-{i}", hot, agent, fund_fen)
            (await writer.execute(Transaction((request,)))).unwrap()
    finally:
        await writer.close()
    return hot, agents


# -- debit: many tasks spending the same few limited accounts -----------------------------


@dataclass(frozen=True, slots=True)
class DebitPlan:
    key: str
    kind: str  # single | post (pending, then post) | void (pending, then void) | refill
    agent: AccountId
    amount: int


def debit_plan(
    seed: str, prefix: str, n: int, shared_every: int, agents: Sequence[AccountId]
) -> DebitPlan:
    """Operation `n` of a process; a shared one (`shared_every` 0: none) is alike in all."""
    shared = shared_every > 0 and n % shared_every == 0
    key = f"shared-{n}" if shared else f"{prefix}-{n}"
    rng = random.Random(f"{seed}:{key}")
    kind = rng.choices(("single", "post", "void", "refill"), weights=(3, 1, 1, 1))[0]
    amount = rng.randint(debit_amount_fen_min, debit_amount_fen_max)
    return DebitPlan(key, kind, rng.choice(agents), amount)


@dataclass
class Tally:
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("ok", "replayed", "insufficient", "other"), 0)
    )
    failures: list[list[str]] = field(default_factory=list)  # [key, error code, error]
    transfers: dict[str, list[Any]] = field(default_factory=dict)
    fresh: list[str] = field(default_factory=list)

    def other(self, key: str, code: str, error: str) -> None:
        self.counts["other"] += 1
        self.failures.append([key, code, error])

    async def submit(
        self, writer: LedgerWriter, request: TransferRequest, may_lack_funds: bool
    ) -> bool:
        """Run a one-transfer transaction and count its outcome; True when it succeeded."""
        try:
            result = await writer.execute(Transaction((request,)))
        except Exception as exc:  # a database error: counted, never hidden
            self.other(request.key, "exception", repr(exc))
            return False
        if result.ok:
            self.counts["replayed" if result.replayed else "ok"] += 1
            for t in result.transfers:
                self.transfers[t.key] = [t.kind, t.debit_account_id, t.credit_account_id, t.amount]
                if not result.replayed:
                    self.fresh.append(t.key)
            return True
        if may_lack_funds and isinstance(result.error, errors.InsufficientFunds):
            self.counts["insufficient"] += 1
        else:
            assert result.error is not None
            self.other(request.key, result.error.code, repr(result.error))
        return False


async def _operate(writer: LedgerWriter, hot: AccountId, plan: DebitPlan, tally: Tally) -> None:
    if plan.kind == "refill":  # from the hot account, which has no limit: cannot lack money
        refill = TransferRequest.single(plan.key, hot, plan.agent, plan.amount)
        await tally.submit(writer, refill, False)
        return
    if plan.kind == "single":
        spend = TransferRequest.single(plan.key, plan.agent, hot, plan.amount)
        await tally.submit(writer, spend, True)
        return
    pending = TransferRequest.pending(plan.key, plan.agent, hot, plan.amount)
    if not await tally.submit(writer, pending, True):
        return
    if plan.kind == "post":
        resolve = TransferRequest.post(f"{plan.key}:post", plan.key)
    else:
        resolve = TransferRequest.void(f"{plan.key}:void", plan.key)
    await tally.submit(writer, resolve, False)  # the money is reserved: this cannot lack it


async def debit(args: argparse.Namespace) -> None:
    agents = _ids(args.agents)
    engine = open_engine(args.url, args.schema, args.label)
    writer = LedgerWriter(engine, label=args.label)
    await writer.start()
    tally = Tally()
    seconds = 0.0
    for r, round_kind in enumerate(args.rounds.split(",")):
        print(f"round {r}", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        every = args.shared_every if round_kind == "shared" else 0
        plans = [
            debit_plan(args.seed, args.prefix, r * args.tasks + i, every, agents)
            for i in range(args.tasks)
        ]
        started = time.perf_counter()
        await asyncio.gather(*(_operate(writer, AccountId(args.hot), p, tally) for p in plans))
        seconds += time.perf_counter() - started
    await writer.close()
    await engine.dispose()
    summary = {
        "writer_id": writer.writer_id,
        "batches": writer.batches,
        "seconds": round(seconds, 3),
        "counts": tally.counts,
        "failures": tally.failures,
        "transfers": tally.transfers,
        "fresh": tally.fresh,
    }
    print(json.dumps(summary), flush=True)


# -- stream: transactions until killed, each acknowledged durably -------------------------


def stream_keys(prefix: str, n: int, legs: int) -> list[str]:
    return [f"{prefix}-{n}-{legs}-{leg}" for leg in range(1, legs + 1)]


def stream_transaction(
    prefix: str, n: int, rng: random.Random, agents: Sequence[AccountId], hot: AccountId
) -> Transaction:
    """One of four shapes: a single; pending then post (partly) in one transaction; two
    singles through a second agent; pending, void and a single."""
    shape = rng.randrange(4)
    a, b = rng.sample(list(agents), 2)
    amount = rng.randint(1, stream_amount_fen_max)
    if shape == 0:
        (k1,) = stream_keys(prefix, n, 1)
        return Transaction((TransferRequest.single(k1, a, hot, amount),))
    if shape == 1:
        k1, k2 = stream_keys(prefix, n, 2)
        posted = rng.randint(1, amount)
        return Transaction(
            (
                TransferRequest.pending(k1, a, hot, amount),
                TransferRequest.post(k2, k1, amount=posted),
            )
        )
    if shape == 2:
        k1, k2 = stream_keys(prefix, n, 2)
        return Transaction(
            (TransferRequest.single(k1, a, b, amount), TransferRequest.single(k2, b, hot, amount))
        )
    k1, k2, k3 = stream_keys(prefix, n, 3)
    return Transaction(
        (
            TransferRequest.pending(k1, a, hot, amount),
            TransferRequest.void(k2, k1),
            TransferRequest.single(k3, a, b, amount),
        )
    )


def acknowledge(acks: IO[str], transaction: Transaction) -> None:
    """Durably note a transaction the ledger answered ok; no await in here, so lines never mix."""
    acks.write(" ".join(t.key for t in transaction.transfers) + "\n")
    acks.flush()
    os.fsync(acks.fileno())


async def stream(args: argparse.Namespace, acks: IO[str]) -> None:
    agents = _ids(args.agents)
    engine = open_engine(args.url, args.schema, args.label)
    writer = LedgerWriter(engine, label=args.label)
    await writer.start()
    print(f"streaming as writer {writer.writer_id}", file=sys.stderr, flush=True)
    numbers = itertools.count()
    rng = random.Random(args.seed)

    async def task() -> None:
        while True:
            transaction = stream_transaction(
                args.prefix, next(numbers), rng, agents, AccountId(args.hot)
            )
            result = await writer.execute(transaction)
            if not result.ok:  # the agents never run dry: any refusal is a failure to report
                raise RuntimeError(f"{transaction.transfers[0].key}: {result.error!r}")
            acknowledge(acks, transaction)

    await asyncio.gather(*(task() for _ in range(args.tasks)))


def _ids(text: str) -> list[AccountId]:
    return [AccountId(int(part)) for part in text.split(",")]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.ledger.writer_process")
    parser.add_argument("--mode", choices=("debit", "stream"), required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--schema")
    parser.add_argument("--label", required=True)
    parser.add_argument("--hot", type=int, required=True)
    parser.add_argument("--agents", required=True, help="comma-separated account ids")
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--rounds", default="shared,unique", help="shared|unique,...")
    parser.add_argument("--shared-every", type=int, default=4)
    parser.add_argument("--seed", default="0")
    parser.add_argument("--acks", help="stream: file to append acknowledged keys to")
    args = parser.parse_args(argv)
    if args.mode == "debit":
        asyncio.run(debit(args))
        return
    if args.acks is None:
        parser.error("--mode stream needs --acks")
    with open(args.acks, "a", encoding="ascii") as acks:
        asyncio.run(stream(args, acks))


if __name__ == "__main__":
    main()
