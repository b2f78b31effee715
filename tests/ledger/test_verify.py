"""`ledger verify` catches tampering with stored transfers and balances, naming the spot."""

from __future__ import annotations

import pytest
from sqlalchemy import Executable, delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.schema import account_balances, transfers
from ledger.transfers import TransferRequest
from ledger.verify import verify
from tests.ledger.conftest import Book


@pytest.fixture
async def journal(book: Book) -> Book:
    """Five more transfers in the book's chain (seq 2..6), all valid."""
    for i in range(3):
        (await book.run(TransferRequest.single(f"s{i}", book.agent, book.other, 10))).unwrap()
    (await book.run(TransferRequest.pending("p", book.agent, book.other, 50))).unwrap()
    (await book.run(TransferRequest.post("p:post", "p"))).unwrap()
    report = await verify(book.engine)
    assert report.ok, report.problems
    assert (report.transfers, report.chains) == (6, 1)
    return book  # each test undoes its damage, so the book fixture's final verify passes


async def _tamper(engine: AsyncEngine, statement: Executable) -> list[str]:
    async with engine.begin() as conn:
        await conn.execute(statement)
    report = await verify(engine)
    assert not report.ok
    return report.problems


async def _restore(engine: AsyncEngine, key: str, **values: object) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(transfers).where(transfers.c.key == key).values(**values))


async def test_a_changed_amount_is_caught(journal: Book) -> None:
    problems = await _tamper(
        journal.engine, update(transfers).where(transfers.c.key == "s1").values(amount=11)
    )
    assert any("seq 3 transfer 's1': hash does not match" in p for p in problems)
    assert any("credits_posted stored 80, journal says 81" in p for p in problems)
    await _restore(journal.engine, "s1", amount=10)


async def test_a_changed_account_is_caught(journal: Book) -> None:
    problems = await _tamper(
        journal.engine,
        update(transfers).where(transfers.c.key == "s0").values(credit_account_id=journal.bank),
    )
    assert "seq 2 transfer 's0'" in problems[0]
    await _restore(journal.engine, "s0", credit_account_id=journal.other)


async def test_reordering_is_caught(journal: Book) -> None:
    async with journal.engine.begin() as conn:
        rows = {r.key: r.seq for r in await conn.execute(select(transfers.c.key, transfers.c.seq))}
        await conn.execute(update(transfers).where(transfers.c.key == "s0").values(seq=-1))
        await conn.execute(update(transfers).where(transfers.c.key == "s1").values(seq=rows["s0"]))
    problems = await _tamper(
        journal.engine, update(transfers).where(transfers.c.key == "s0").values(seq=rows["s1"])
    )
    assert "hash does not match" in problems[0]
    async with journal.engine.begin() as conn:
        await conn.execute(update(transfers).where(transfers.c.key == "s0").values(seq=-1))
        await conn.execute(update(transfers).where(transfers.c.key == "s1").values(seq=rows["s1"]))
        await conn.execute(update(transfers).where(transfers.c.key == "s0").values(seq=rows["s0"]))


async def test_a_dropped_tail_is_caught(journal: Book) -> None:
    async with journal.engine.connect() as conn:
        row = (await conn.execute(select(transfers).where(transfers.c.key == "p:post"))).one()
    problems = await _tamper(journal.engine, delete(transfers).where(transfers.c.key == "p:post"))
    assert any("chain ends at seq 5, but the writer recorded seq 6" in p for p in problems)
    async with journal.engine.begin() as conn:
        await conn.execute(transfers.insert().values(**row._asdict()))


async def test_an_edited_balance_is_caught(journal: Book) -> None:
    problems = await _tamper(
        journal.engine,
        update(account_balances)
        .where(account_balances.c.account_id == journal.agent)
        .values(debits_posted=account_balances.c.debits_posted - 100),
    )
    assert problems == [
        f"account {journal.agent} (agent): debits_posted stored -20, journal says 80"
    ]
    async with journal.engine.begin() as conn:
        await conn.execute(
            update(account_balances)
            .where(account_balances.c.account_id == journal.agent)
            .values(debits_posted=account_balances.c.debits_posted + 100)
        )
