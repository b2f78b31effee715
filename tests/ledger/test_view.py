"""The writer's view on SQLite: batches validated on the event loop while the previous one is
written, and every way the view can be wrong sending the batch back to reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger import errors
from ledger.accounts import AccountFlag, create_account
from ledger.transfers import Transaction, TransferRequest
from ledger.writer import LedgerWriter
from tests.conftest import migrated_engine
from tests.ledger.conftest import LIMITED, T0, Book, open_book


@pytest.fixture
async def sqlite_book(tmp_path: Path) -> AsyncIterator[Book]:
    async with migrated_engine("sqlite", tmp_path) as engine, open_book(engine) as book:
        yield book


async def test_once_read_the_accounts_are_validated_from_the_view(sqlite_book: Book) -> None:
    book = sqlite_book
    for i in range(10):
        (await book.run(TransferRequest.single(f"t{i}", book.agent, book.other, 10))).unwrap()
    assert book.writer.batches_from_view == 9  # the first one read `other`
    refused = await book.run(TransferRequest.single("big", book.agent, book.other, 901))
    assert isinstance(refused.error, errors.InsufficientFunds)
    assert refused.error.available == 900
    assert await book.balance(book.agent) == (900, 900)
    assert await book.balance(book.other) == (100, 100)


async def test_a_batch_in_flight_is_counted_by_the_next_one(sqlite_book: Book) -> None:
    """Hundreds of concurrent debits of one deposit, gathered into pipelined batches: exactly
    as many pass as the deposit covers."""
    book = sqlite_book
    results = await asyncio.gather(
        *(book.run(TransferRequest.single(f"c{i}", book.agent, book.other, 7)) for i in range(300))
    )
    passed = sum(r.ok for r in results)
    assert passed == 1000 // 7
    assert all(isinstance(r.error, errors.InsufficientFunds) for r in results if not r.ok)
    assert await book.balance(book.agent) == (1000 - 7 * passed, 1000 - 7 * passed)


async def test_another_writer_committing_sends_the_batch_back_to_reads(sqlite_book: Book) -> None:
    """The view says 400 are left; another writer on the same file spends 300 of them. The
    next debit of 300 must be refused, not validated against the stale view."""
    book = sqlite_book
    (await book.run(TransferRequest.single("a", book.agent, book.other, 600))).unwrap()
    other = LedgerWriter(book.engine, label="another")
    await other.start()
    try:
        spend = TransferRequest.single("b", book.agent, book.other, 300)
        (await other.execute(Transaction((spend,)))).unwrap()
    finally:
        await other.close()
    refused = await book.run(TransferRequest.single("c", book.agent, book.other, 300))
    assert isinstance(refused.error, errors.InsufficientFunds)
    assert refused.error.available == 100
    assert await book.balance(book.agent) == (100, 100)


async def test_an_account_closed_by_another_connection_is_seen(sqlite_book: Book) -> None:
    book = sqlite_book
    (await book.run(TransferRequest.single("a", book.agent, book.other, 1))).unwrap()
    async with book.engine.begin() as conn:
        await conn.exec_driver_sql(
            f"UPDATE accounts SET flags = flags | {int(AccountFlag.CLOSED)} WHERE id = {book.other}"
        )
    refused = await book.run(TransferRequest.single("b", book.agent, book.other, 1))
    assert isinstance(refused.error, errors.AccountClosed)


async def test_stored_keys_answer_as_replays_whatever_the_view_says(sqlite_book: Book) -> None:
    """The view does not know old keys: a replay of a stored transfer must still answer it,
    even when the same request would be refused today, and altered content must still be a
    conflict, even when that content is invalid on its own."""
    book = sqlite_book
    spend_all = TransferRequest.single("all", book.agent, book.other, 1000)
    first = await book.run(spend_all)
    assert first.ok
    again = await book.run(spend_all)  # would be InsufficientFunds as a new transfer
    assert again.replayed
    assert again.transfers == first.transfers
    both = TransferRequest.single("all", book.agent, book.agent, 1000)  # SameAccount as new
    conflict = await book.run(both)
    assert isinstance(conflict.error, errors.IdempotencyConflict)
    assert conflict.error.field == "credit_account_id"
    (await book.run(TransferRequest.single("back", book.other, book.agent, 10))).unwrap()
    replay_valid = await book.run(spend_all)  # would pass as new: the unique key catches it
    assert replay_valid.replayed
    assert replay_valid.transfers == first.transfers
    assert await book.balance(book.agent) == (10, 10)


async def test_a_posted_pending_transfer_is_not_posted_again(sqlite_book: Book) -> None:
    book = sqlite_book
    (await book.run(TransferRequest.pending("p", book.agent, book.other, 100))).unwrap()
    (await book.run(TransferRequest.post("p-post", "p"))).unwrap()
    again = await book.run(TransferRequest.void("p-void", "p"))
    assert isinstance(again.error, errors.AlreadyResolved)
    assert await book.balance(book.agent) == (900, 900)


async def test_a_pending_voided_in_its_own_transaction_is_resolved_in_the_view(
    sqlite_book: Book,
) -> None:
    """Found by the model test: the view kept such a pending transfer open, so a later post
    was validated against it (the unique index on `pending_key` still refused the write)."""
    book = sqlite_book
    (await book.run(TransferRequest.single("warm", book.agent, book.other, 1))).unwrap()
    created_and_voided = await book.run(
        TransferRequest.pending("p", book.agent, book.other, 298),
        TransferRequest.void("p:void", "p"),
    )
    created_and_voided.unwrap()
    for key, amount in (("p:post", 299), ("p:post2", 100), ("p:post3", None)):
        late = await book.run(TransferRequest.post(key, "p", amount))
        assert isinstance(late.error, errors.AlreadyResolved), (key, late)
    assert await book.balance(book.agent) == (999, 999)


async def test_only_a_sqlite_writer_trusts_its_view(engine: AsyncEngine) -> None:
    """Other processes write PostgreSQL all the time: there every batch is validated from
    reads. On SQLite, every batch after the first that read the accounts uses the view."""
    async with engine.begin() as conn:
        a = await create_account(conn, "a", "platform", AccountFlag.HOT, T0)
        b = await create_account(conn, "b", "deposit", LIMITED, T0)
    writer = LedgerWriter(engine, label="reads")
    await writer.start()
    try:
        for i in range(3):
            single = TransferRequest.single(f"k{i}", a, b, 1)
            (await writer.execute(Transaction((single,)))).unwrap()
    finally:
        await writer.close()
    assert writer.batches_from_view == (2 if engine.dialect.name == "sqlite" else 0)
