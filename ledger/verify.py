"""`aircharge ledger verify`: trust nothing stored, recompute it from the journal.

1. Every writer's hash chain: consecutive `seq` from 1, every hash recomputed from the
   genesis, and the chain's end equal to the head the writer recorded (a dropped tail shows).
2. Every account's four counters recomputed from the transfers and compared with the
   stored balance rows (summed over shards).
3. Conservation: debits equal credits, posted and pending, per currency.
4. No limited account beyond its limit.

The report names the first discrepancy of each kind precisely (writer, seq, key; account,
code, counter, expected and stored) and counts the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger import chain
from ledger.accounts import AccountFlag
from ledger.schema import account_balances, accounts, ledger_writers, transfers

rows_per_fetch: Final = 5_000


@dataclass(slots=True)
class Counters:
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    def add(self, other: Counters) -> None:
        self.debits_pending += other.debits_pending
        self.debits_posted += other.debits_posted
        self.credits_pending += other.credits_pending
        self.credits_posted += other.credits_posted


problems_listed_max: Final = 20


@dataclass
class VerifyReport:
    transfers: int = 0
    accounts: int = 0
    chains: int = 0
    problems: list[str] = field(default_factory=list)
    problems_total: int = 0

    @property
    def ok(self) -> bool:
        return self.problems_total == 0

    def add(self, problem: str) -> None:
        self.problems_total += 1
        if len(self.problems) < problems_listed_max:
            self.problems.append(problem)


Progress = Callable[[str, int], None]


def _quiet(stage: str, rows: int) -> None:
    pass


async def verify(engine: AsyncEngine, progress: Progress = _quiet) -> VerifyReport:
    """Check everything; `progress(stage, rows_so_far)` is called every few thousand rows."""
    report = VerifyReport()
    async with engine.connect() as conn:
        await _verify_chains(conn, report, progress)
        expected = await _recompute(conn, report, progress)
        await _compare_balances(conn, expected, report)
    return report


async def _verify_chains(conn: AsyncConnection, report: VerifyReport, progress: Progress) -> None:
    writers = (await conn.execute(select(ledger_writers).order_by(ledger_writers.c.id))).all()
    report.chains = len(writers)
    checked = 0
    for writer in writers:
        head, seq, broken = chain.genesis(writer.id), 0, False
        result = await conn.stream(
            select(transfers)
            .where(transfers.c.writer_id == writer.id)
            .order_by(transfers.c.seq)
            .execution_options(yield_per=rows_per_fetch)
        )
        async for row in result:
            seq += 1
            checked += 1
            if checked % rows_per_fetch == 0:
                progress("chains", checked)
            if broken:
                continue
            if row.seq != seq:
                report.add(f"writer {writer.id}: seq {seq} expected, found {row.seq} ({row.key})")
                broken = True
                continue
            head = chain.link_row(head, row)
            if head != row.hash:
                report.add(
                    f"writer {writer.id} seq {row.seq} transfer {row.key!r}: hash does not match"
                    " its content and predecessor (changed, reordered or inserted)"
                )
                broken = True
        if not broken and (seq, head) != (writer.last_seq, writer.last_hash):
            report.add(
                f"writer {writer.id}: chain ends at seq {seq}, but the writer recorded"
                f" seq {writer.last_seq} (transfers missing from the end)"
            )


async def _recompute(
    conn: AsyncConnection, report: VerifyReport, progress: Progress
) -> dict[int, Counters]:
    expected: dict[int, Counters] = defaultdict(Counters)
    pending_amounts: dict[str, int] = {}
    totals: dict[str, Counters] = defaultdict(Counters)
    result = await conn.stream(
        select(transfers).order_by(transfers.c.id).execution_options(yield_per=rows_per_fetch)
    )
    async for row in result:
        report.transfers += 1
        if report.transfers % rows_per_fetch == 0:
            progress("balances", report.transfers)
        debit, credit = expected[row.debit_account_id], expected[row.credit_account_id]
        moved = _effect(row, pending_amounts, report)
        if moved is None:
            continue
        reserved, posted = moved
        debit.add(Counters(debits_pending=reserved, debits_posted=posted))
        credit.add(Counters(credits_pending=reserved, credits_posted=posted))
        total = totals[row.currency]
        total.add(Counters(reserved, posted, reserved, posted))
    for currency, total in totals.items():
        if (total.debits_posted, total.debits_pending) != (
            total.credits_posted,
            total.credits_pending,
        ):
            report.add(f"{currency}: debits and credits differ in the journal: {total}")
    return expected


def _effect(
    row: Any, pending_amounts: dict[str, int], report: VerifyReport
) -> tuple[int, int] | None:
    """(change of pending, change of posted) this transfer makes on both its accounts."""
    if row.kind == "single":
        return 0, row.amount
    if row.kind == "pending":
        pending_amounts[row.key] = row.amount
        return row.amount, 0
    reserved = pending_amounts.pop(row.pending_key, None)
    if reserved is None:
        report.add(f"transfer {row.key!r} resolves {row.pending_key!r}, which is not pending")
        return None
    if row.kind == "post":
        return -reserved, row.amount
    return -reserved, 0


async def _compare_balances(
    conn: AsyncConnection, expected: dict[int, Counters], report: VerifyReport
) -> None:
    stored_rows = await conn.execute(
        select(
            accounts.c.id,
            accounts.c.code,
            accounts.c.flags,
            func.sum(account_balances.c.debits_pending).label("debits_pending"),
            func.sum(account_balances.c.debits_posted).label("debits_posted"),
            func.sum(account_balances.c.credits_pending).label("credits_pending"),
            func.sum(account_balances.c.credits_posted).label("credits_posted"),
        )
        .join(account_balances, account_balances.c.account_id == accounts.c.id)
        .group_by(accounts.c.id, accounts.c.code, accounts.c.flags)
        .order_by(accounts.c.id)
    )
    for row in stored_rows:
        report.accounts += 1
        want = expected.get(row.id, Counters())
        for name in ("debits_pending", "debits_posted", "credits_pending", "credits_posted"):
            stored, computed = int(getattr(row, name)), getattr(want, name)
            if stored != computed:
                report.add(
                    f"account {row.id} ({row.code}): {name} stored {stored},"
                    f" journal says {computed}"
                )
        flags = AccountFlag(row.flags)
        room = want.credits_posted - want.debits_posted - want.debits_pending
        if AccountFlag.DEBITS_MUST_NOT_EXCEED_CREDITS in flags and room < 0:
            report.add(f"account {row.id} ({row.code}): debits exceed credits by {-room}")
