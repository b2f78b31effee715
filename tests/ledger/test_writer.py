"""The journal writer on SQLite and PostgreSQL: transfers, two-phase, expiry, idempotency,
atomic transactions, in-batch validation and push-back."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger import errors
from ledger.accounts import AccountFlag, create_account
from ledger.money import AccountId
from ledger.schema import account_balances, operations, transfers, usage_counters
from ledger.transfers import (
    RecordAdd,
    RecordInsert,
    Transaction,
    TransactionResult,
    TransferRequest,
    expire_key,
)
from ledger.writer import LedgerWriter, WriterLimits
from tests.ledger.conftest import T0, Book


async def test_single_transfer_moves_money(book: Book) -> None:
    assert await book.balance(book.agent) == (1000, 1000)
    assert await book.balance(book.bank) == (-1000, -1000)


async def test_overdraft_is_refused_and_writes_nothing(book: Book) -> None:
    result = await book.run(TransferRequest.single("t", book.agent, book.other, 1001))
    assert isinstance(result.error, errors.InsufficientFunds)
    assert (result.error.available, result.error.wanted) == (1000, 1001)
    async with book.engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(transfers))).scalar_one()
    assert count == 1
    assert await book.balance(book.agent) == (1000, 1000)


async def test_replay_answers_the_first_and_a_conflict_names_the_field(book: Book) -> None:
    first = await book.run(TransferRequest.single("t", book.agent, book.other, 300))
    again = await book.run(TransferRequest.single("t", book.agent, book.other, 300))
    assert again.replayed
    assert again.transfers == first.transfers
    for changed, name in (
        (TransferRequest.single("t", book.agent, book.other, 301), "amount"),
        (TransferRequest.single("t", book.agent, book.bank, 300), "credit_account_id"),
        (TransferRequest.pending("t", book.agent, book.other, 300), "kind"),
    ):
        conflict = await book.run(changed)
        assert isinstance(conflict.error, errors.IdempotencyConflict)
        assert conflict.error.field == name
    assert await book.balance(book.agent) == (700, 700)


async def test_duplicates_inside_one_batch_apply_once(book: Book) -> None:
    request = TransferRequest.single("dup", book.agent, book.other, 100)
    results = await asyncio.gather(*(book.run(request) for _ in range(20)))
    assert all(r.ok for r in results)
    assert sum(not r.replayed for r in results) == 1
    assert await book.balance(book.other) == (100, 100)


async def test_concurrent_reservations_never_overspend(book: Book) -> None:
    results = await asyncio.gather(
        *(
            book.run(TransferRequest.pending(f"p{i}", book.agent, book.other, 30))
            for i in range(100)
        )
    )
    assert sum(r.ok for r in results) == 33  # 33 × 30 = 990 <= 1000 < 34 × 30
    assert all(isinstance(r.error, errors.InsufficientFunds) for r in results if not r.ok)
    assert await book.balance(book.agent) == (1000, 10)


async def test_two_phase_post_partial_void_and_resolve_once(book: Book) -> None:
    assert (await book.run(TransferRequest.pending("p", book.agent, book.other, 600))).ok
    assert await book.balance(book.agent) == (1000, 400)
    posted = await book.run(TransferRequest.post("p:post", "p", amount=500))
    assert posted.transfers[0].amount == 500
    assert await book.balance(book.agent) == (500, 500)  # the unposted 100 is released
    assert await book.balance(book.other) == (500, 500)
    void = await book.run(TransferRequest.void("p:void", "p"))
    assert isinstance(void.error, errors.AlreadyResolved)
    replay = await book.run(TransferRequest.post("p:post", "p", amount=500))
    assert replay.replayed
    assert (await book.run(TransferRequest.pending("q", book.agent, book.other, 500))).ok
    assert (await book.run(TransferRequest.void("q:void", "q"))).ok
    assert await book.balance(book.agent) == (500, 500)
    too_much = await book.run(TransferRequest.pending("r", book.agent, book.other, 100))
    assert too_much.ok
    over = await book.run(TransferRequest.post("r:post", "r", amount=101))
    assert isinstance(over.error, errors.AmountExceedsPending)
    missing = await book.run(TransferRequest.post("x:post", "nope"))
    assert isinstance(missing.error, errors.PendingNotFound)


async def test_pending_and_post_in_one_transaction(book: Book) -> None:
    result = await book.run(
        TransferRequest.pending("p", book.agent, book.other, 100),
        TransferRequest.post("p:post", "p"),
    )
    assert [t.kind for t in result.unwrap()] == ["pending", "post"]
    assert await book.balance(book.other) == (100, 100)


async def test_a_transaction_is_atomic(book: Book) -> None:
    result = await book.run(
        TransferRequest.single("a", book.agent, book.other, 600),
        TransferRequest.single("b", book.agent, book.other, 600),  # only 400 left
    )
    assert isinstance(result.error, errors.InsufficientFunds)
    assert await book.balance(book.agent) == (1000, 1000)
    assert (await book.run(TransferRequest.single("a", book.agent, book.other, 600))).ok


async def test_a_key_repeated_inside_a_transaction_refuses_it_whole(book: Book) -> None:
    legs = [TransferRequest.single(f"leg{n}", book.agent, book.other, 1) for n in range(500)]
    legs.append(TransferRequest.single("leg7", book.agent, book.other, 1))
    result = await book.run(*legs)
    assert isinstance(result.error, errors.IdempotencyConflict)
    assert (result.error.key, result.error.field) == ("leg7", "key")
    assert await book.balance(book.agent) == (1000, 1000)
    assert (await book.run(*legs[:500])).ok
    assert await book.balance(book.agent) == (500, 500)


async def test_expiry_is_enforced_by_the_ledger(book: Book) -> None:
    expires = T0 + timedelta(seconds=30)
    held = TransferRequest.pending("p", book.agent, book.other, 700, expires_at=expires)
    assert (await book.run(held)).ok
    forever = TransferRequest.pending("q", book.agent, book.other, 100)  # waits on BOSS: no expiry
    assert (await book.run(forever)).ok
    assert await book.writer.expire_due() == 0
    book.clock.now = expires
    late = await book.run(TransferRequest.post("p:post", "p"))
    assert isinstance(late.error, errors.PendingExpired)
    assert await book.writer.expire_due() == 1
    assert await book.writer.expire_due() == 0
    assert await book.balance(book.agent) == (1000, 900)  # only q still reserved


@pytest.mark.parametrize("amount", [0, -5, True, 10**13])
async def test_bad_amounts_are_refused(book: Book, amount: int) -> None:
    result = await book.run(TransferRequest.single("x", book.agent, book.other, amount))
    assert isinstance(result.error, errors.InvalidTransfer)


async def test_a_transaction_without_transfers_is_refused(book: Book) -> None:
    result = await book.run()
    assert isinstance(result.error, errors.InvalidTransfer)
    async with book.engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(transfers))).scalar_one()
    assert count == 1  # the book's own funding only
    assert (await book.run(TransferRequest.single("after", book.agent, book.other, 1))).ok


async def test_unknown_same_and_closed_accounts(book: Book) -> None:
    unknown = await book.run(TransferRequest.single("x", book.bank, AccountId(9999), 1))
    assert isinstance(unknown.error, errors.UnknownAccount)
    same = await book.run(TransferRequest.single("y", book.agent, book.agent, 1))
    assert isinstance(same.error, errors.SameAccount)
    async with book.engine.begin() as conn:
        closed = await create_account(conn, "closed", "deposit", AccountFlag.CLOSED, T0)
    refused = await book.run(TransferRequest.single("z", book.bank, closed, 1))
    assert isinstance(refused.error, errors.AccountClosed)


async def two_hot_accounts(engine: AsyncEngine) -> tuple[AccountId, AccountId]:
    """Two unlimited accounts, so only the writer's own limits can refuse a transfer."""
    async with engine.begin() as conn:
        a = await create_account(conn, "a", "platform", AccountFlag.HOT, T0)
        b = await create_account(conn, "b", "platform", AccountFlag.HOT, T0)
    return a, b


async def test_a_full_queue_pushes_back(engine: AsyncEngine) -> None:
    a, b = await two_hot_accounts(engine)
    writer = LedgerWriter(engine, label="tiny", limits=WriterLimits(queue_length_max=4))
    await writer.start()
    try:
        results = await asyncio.gather(
            *(
                writer.execute(Transaction((TransferRequest.single(f"k{i}", a, b, 1),)))
                for i in range(50)
            )
        )
    finally:
        await writer.close()
    refused = [r for r in results if isinstance(r.error, errors.Overloaded)]
    assert refused
    assert len(refused) < 50


async def test_stats_count_commits_transfers_and_the_queue(engine: AsyncEngine) -> None:
    a, b = await two_hot_accounts(engine)
    writer = LedgerWriter(engine, label="counted", limits=WriterLimits(queue_length_max=64))
    await writer.start()
    try:
        pairs = [
            (TransferRequest.single(f"k{i}", a, b, 1), TransferRequest.single(f"j{i}", b, a, 1))
            for i in range(10)
        ]
        results = await asyncio.gather(*(writer.execute(Transaction(p)) for p in pairs))
        assert all(r.ok for r in results)
        assert (await writer.execute(Transaction(pairs[0]))).replayed  # writes nothing
        stats = writer.stats()
    finally:
        await writer.close()
    assert stats.transfers == 20
    assert 1 <= stats.commits <= 11
    assert 0 <= stats.commits_from_view <= stats.commits
    assert (stats.queue_length, stats.queue_length_max) == (0, 64)


async def test_hot_accounts_are_sharded_per_writer(book: Book) -> None:
    second = LedgerWriter(book.engine, label="second")
    await second.start()
    try:
        await second.execute(Transaction((TransferRequest.single("w2", book.bank, book.other, 5),)))
    finally:
        await second.close()
    async with book.engine.connect() as conn:
        shards = (
            await conn.execute(
                select(func.count()).where(account_balances.c.account_id == book.bank)
            )
        ).scalar_one()
    assert shards == 3  # shard 0 from opening, plus one per writer that touched it
    assert await book.balance(book.bank) == (-1005, -1005)


async def test_keys_the_ledger_keeps_for_itself_and_oversized_fields_are_refused(
    book: Book,
) -> None:
    expires = T0 + timedelta(seconds=30)
    held = TransferRequest.pending("p", book.agent, book.other, 100, expires_at=expires)
    assert (await book.run(held)).ok
    squatter = TransferRequest.single(expire_key("p"), book.bank, book.agent, 1)
    assert isinstance((await book.run(squatter)).error, errors.InvalidTransfer)
    for bad in (
        TransferRequest.single("k" * 129, book.bank, book.agent, 1),
        TransferRequest.single("", book.bank, book.agent, 1),
        TransferRequest.single("r", book.bank, book.agent, 1, reference="x" * 65),
        TransferRequest.single("c", book.bank, book.agent, 1, currency="YUAN"),
    ):
        assert isinstance((await book.run(bad)).error, errors.InvalidTransfer), bad
    book.clock.now = expires
    assert await book.writer.expire_due() == 1  # the squatter could not block the release
    assert await book.balance(book.agent) == (1000, 1000)


async def test_a_replay_with_other_reference_or_metadata_is_a_conflict(book: Book) -> None:
    first = TransferRequest.single("m", book.agent, book.other, 5, reference="R1", meta={"a": 1})
    assert (await book.run(first)).ok
    assert (await book.run(first)).replayed
    for changed, name in (
        (first._replace(reference="R2"), "reference"),
        (first._replace(meta={"a": 2}), "meta"),
    ):
        result = await book.run(changed)
        assert isinstance(result.error, errors.IdempotencyConflict)
        assert result.error.field == name


def _operation_row(key: str, ref: str) -> RecordInsert:
    values = {
        "ref": ref,
        "key": key,
        "request_hash": "h",
        "kind": "topup",
        "channel": "test",
        "agent_id": None,
        "msisdn": "8613900000001",
        "amount": 1,
        "state": "reserved",
        "reason": None,
        "pending_key": None,
        "created_at": T0,
        "updated_at": T0,
    }
    return RecordInsert(operations, values)


async def test_a_refused_record_fails_its_transaction_alone(book: Book) -> None:
    """Two transactions in one batch carry the same operation key: the database refuses the
    second record; the batch is redone one by one, so the first and the bystander commit."""
    results = await asyncio.gather(
        book.writer.execute(
            Transaction(
                (TransferRequest.single("a", book.agent, book.other, 1),),
                (_operation_row("op", "R1"),),
            )
        ),
        book.writer.execute(Transaction((TransferRequest.single("b", book.agent, book.other, 2),))),
        book.writer.execute(
            Transaction(
                (TransferRequest.single("c", book.agent, book.other, 4),),
                (_operation_row("op", "R2"),),
            )
        ),
    )
    assert [r.ok for r in results] == [True, True, False]
    assert isinstance(results[2].error, errors.RecordRefused)
    assert await book.balance(book.other) == (3, 3)  # c and its record left no trace


def _daily(amount: int, cap: int, day: date = date(2026, 11, 26)) -> RecordAdd:
    return RecordAdd(
        usage_counters,
        {"subject": "agent:1", "day": day},
        {"amount": amount, "count": 1},
        {"amount": cap},
        "agent_daily_amount",
    )


async def _counter(book: Book, day: date = date(2026, 11, 26)) -> tuple[int, int] | None:
    async with book.engine.connect() as conn:
        row = (
            await conn.execute(
                select(usage_counters.c.amount, usage_counters.c.count).where(
                    usage_counters.c.day == day
                )
            )
        ).first()
    return None if row is None else (row[0], row[1])


async def test_counters_under_a_cap_admit_exactly_what_fits_and_refusals_write_nothing(
    book: Book,
) -> None:
    async def spend(n: int) -> TransactionResult:
        request = TransferRequest.single(f"s{n}", book.agent, book.other, 30)
        return await book.writer.execute(Transaction((request,), (_daily(30, 100),)))

    results = await asyncio.gather(*(spend(n) for n in range(10)))
    ok = [r for r in results if r.ok]
    refused = [r.error for r in results if not r.ok]
    assert len(ok) == 3  # 90 of the 100 cap; a fourth would make 120
    assert all(
        isinstance(e, errors.LimitExceeded) and e.limit == "agent_daily_amount" for e in refused
    )
    assert await _counter(book) == (90, 3)
    assert await book.balance(book.agent) == (910, 910)
    async with book.engine.connect() as conn:
        keys = set((await conn.execute(select(transfers.c.key))).scalars())
    assert len(keys & {f"s{n}" for n in range(10)}) == 3


async def test_a_refused_counter_leaves_its_batch_neighbours_written(book: Book) -> None:
    requests = [
        Transaction(
            (TransferRequest.single(f"n{n}", book.agent, book.other, 10),),
            (_daily(60 if n == 1 else 10, 75),),
        )
        for n in range(4)
    ]
    results = await asyncio.gather(*(book.writer.execute(tx) for tx in requests))
    # in order: 10, then 60 (70), then 10 would make 80 > 75, and so would the last
    assert [r.ok for r in results] == [True, True, False, False]
    assert await _counter(book) == (70, 2)
    assert await book.balance(book.agent) == (980, 980)


async def test_an_increment_over_its_cap_alone_is_refused_and_a_negative_one_always_fits(
    book: Book,
) -> None:
    over = Transaction(
        (TransferRequest.single("o", book.agent, book.other, 1),), (_daily(101, 100),)
    )
    result = await book.writer.execute(over)
    assert isinstance(result.error, errors.LimitExceeded)
    assert await _counter(book) is None
    assert (
        await book.writer.execute(
            Transaction(
                (TransferRequest.single("a", book.agent, book.other, 1),), (_daily(100, 100),)
            )
        )
    ).ok
    back = RecordAdd(
        usage_counters,
        {"subject": "agent:1", "day": date(2026, 11, 26)},
        {"amount": -40, "count": -1},
        {},
        "refund",
    )
    assert (
        await book.writer.execute(
            Transaction((TransferRequest.single("b", book.other, book.agent, 1),), (back,))
        )
    ).ok
    assert await _counter(book) == (60, 0)
