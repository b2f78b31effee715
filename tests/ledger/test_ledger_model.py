"""Stateful property test: the ledger (one LedgerWriter over SQLite and over PostgreSQL)
against the plain in-memory reference model of `tests.ledger.model`.

Each example opens a hot platform account and four accounts of random flags (limited either
way, both ways, unlimited, hot, closed), funds them from the platform account, then drives at
random: single and pending transfers (with and without expiry), full and partial posts,
voids, replays of earlier transactions with the same and with altered content, transactions
of 2-3 legs (some made to fail in their last leg), concurrent transactions submitted
together (the writer batches them; the model applies them in submission order, which the
writer's FIFO queue keeps), clock advances, and `expire_due()`.

Keys are mostly fresh but often reused, and resolutions mostly name open pending transfers,
so replays, conflicts, double resolutions and expiries are common rather than rare.

Checked after every step: each result (transfers, `replayed`, or the error's type, with the
conflict's field and the shortfall's numbers), every account's four counters, and the whole
journal (every stored transfer's key, kind, accounts, amount, pending key and expiry);
every few steps `ledger.verify` (hash chains, balances recomputed, limits) as well.

The machine is synchronous: it owns an event loop and runs each ledger call to completion on
it (with a timeout, so a writer that stops answering fails the step instead of hanging).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Coroutine, Sequence
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from ledger import errors
from ledger.accounts import AccountFlag, create_account, get_accounts
from ledger.money import AccountId, amount_fen_max
from ledger.schema import transfers
from ledger.transfers import (
    Kind,
    Transaction,
    TransactionResult,
    Transfer,
    TransferRequest,
    expire_key,
)
from ledger.verify import verify
from ledger.writer import LedgerWriter
from tests.conftest import migrated_engine, require_postgres
from tests.ledger.conftest import Book
from tests.ledger.model import Expected, LedgerModel, Stored

T = TypeVar("T")

T0: Final = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
DEBIT_LIMITED: Final = AccountFlag.DEBITS_MUST_NOT_EXCEED_CREDITS
CREDIT_LIMITED: Final = AccountFlag.CREDITS_MUST_NOT_EXCEED_DEBITS
# The pool's flags: agent deposits (twice, the common case), the reverse limit, both limits
# (which can never move), no limit, a second hot account, and a closed account.
ACCOUNT_FLAGS: Final = (
    DEBIT_LIMITED,
    DEBIT_LIMITED,
    CREDIT_LIMITED,
    DEBIT_LIMITED | CREDIT_LIMITED,
    AccountFlag.NONE,
    AccountFlag.HOT,
    AccountFlag.CLOSED,
)
pool_accounts: Final = 4  # besides the hot platform account that funds them
UNKNOWN_ACCOUNT: Final = AccountId(987_654)
step_timeout_s: Final = 60.0
verify_every_steps: Final = 4
legs_max: Final = 3
concurrent_transactions_max: Final = 5

amounts = st.integers(1, 800)
fundings = st.integers(200, 5_000)
# Refused requests now and then, one time in this many (a strategy's range would put them at
# its lower bound, which hypothesis draws far more often).
mistake_one_in: Final = 16
# How much a post names: none (all of it), all of it by number, part, too much, nothing.
POST_AMOUNTS: Final = ("all", "all", "exact", "partial", "partial", "partial", "over", "zero")
# A pending transfer's expiry: none, or whole seconds ahead, sometimes a microsecond either
# side. The clock moves in whole seconds, so it often lands exactly on an expiry (expired
# means `expires_at <= now`) or a microsecond short of it or past it.
expiries = st.none() | st.tuples(
    st.sampled_from((0, 1, 5, 10, 30, 60)), st.sampled_from((0, 0, 0, 1, -1))
)
ticks = st.sampled_from((1, 4, 5, 10, 30, 61))


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class LedgerMachine(RuleBasedStateMachine):
    kind = "sqlite"  # the database: "sqlite" or "postgresql"

    def __init__(self) -> None:
        super().__init__()
        kind = self.kind
        self.loop = asyncio.new_event_loop()
        self.stack = AsyncExitStack()
        self.clock = Clock(T0)
        try:
            directory = Path(self.stack.enter_context(tempfile.TemporaryDirectory()))
            self.engine = self._run(
                self.stack.enter_async_context(migrated_engine(kind, directory))
            )
            self.writer = LedgerWriter(self.engine, label=f"model-{kind}", clock=self.clock)
            self._run(self.writer.start())
            self.stack.push_async_callback(self.writer.close)
        except BaseException:
            self._close()
            raise
        self.model = LedgerModel({}, T0)
        self.accounts: list[AccountId] = []
        self.history: list[tuple[TransferRequest, ...]] = []  # every transaction submitted
        self.seen: dict[str, None] = {}  # every key drawn, in order (an ordered set)
        self.fresh = 0
        self.steps = 0

    def teardown(self) -> None:
        self._close()

    def _close(self) -> None:
        try:
            self._run(self.stack.aclose())
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(asyncio.wait_for(work, step_timeout_s))

    # -- set-up --------------------------------------------------------------------------

    @initialize(
        flags=st.lists(
            st.sampled_from(ACCOUNT_FLAGS), min_size=pool_accounts - 1, max_size=pool_accounts - 1
        ).map(lambda drawn: [DEBIT_LIMITED, *drawn]),  # at least one agent deposit
        funding=st.lists(fundings, min_size=pool_accounts, max_size=pool_accounts),
    )
    def open_and_fund(self, flags: list[AccountFlag], funding: list[int]) -> None:
        async def open_all() -> list[AccountId]:
            async with self.engine.begin() as conn:
                opened = [await create_account(conn, "bank", "platform", AccountFlag.HOT, T0)]
                for number, flag in enumerate(flags):
                    opened.append(await create_account(conn, f"a{number}", "deposit", flag, T0))
            return opened

        self.accounts = self._run(open_all())
        bank = self.accounts[0]
        self.model = LedgerModel(
            dict(zip(self.accounts, (AccountFlag.HOT, *flags), strict=True)), T0
        )
        for account, flag, amount in zip(self.accounts[1:], flags, funding, strict=True):
            # Give each account room to move: credit it, or debit it if credits are limited.
            debit, credit = (account, bank) if CREDIT_LIMITED in flag else (bank, account)
            self._submit((TransferRequest.single(f"fund-{account}", debit, credit, amount),))

    # -- single transfers and the two phases ---------------------------------------------

    @rule(data=st.data())
    def single(self, data: st.DataObject) -> None:
        self._submit((self._draw_move(data, "single", []),))

    @rule(data=st.data())
    def pending(self, data: st.DataObject) -> None:
        self._submit((self._draw_move(data, "pending", []),))

    @precondition(lambda self: bool(self.model.open_pendings))
    @rule(data=st.data())
    def post(self, data: st.DataObject) -> None:
        self._submit((self._draw_resolution(data, "post", []),))

    @precondition(lambda self: bool(self.model.open_pendings))
    @rule(data=st.data())
    def void(self, data: st.DataObject) -> None:
        self._submit((self._draw_resolution(data, "void", []),))

    # -- replays -------------------------------------------------------------------------

    @precondition(lambda self: bool(self.history))
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        self._submit(data.draw(st.sampled_from(self.history), label="earlier transaction"))

    @precondition(lambda self: bool(self.history))
    @rule(data=st.data())
    def replay_altered(self, data: st.DataObject) -> None:
        earlier = data.draw(st.sampled_from(self.history), label="earlier transaction")
        index = data.draw(st.integers(0, len(earlier) - 1), label="leg")
        altered = self._alter(data, earlier[index])
        self._submit((*earlier[:index], altered, *earlier[index + 1 :]))

    def _alter(self, data: st.DataObject, leg: TransferRequest) -> TransferRequest:
        moves = leg.kind in ("single", "pending")
        what = data.draw(
            st.sampled_from(
                ("amount", "debit", "credit", "kind", "currency", "expiry")
                if moves
                else ("amount", "kind", "currency", "pending_key")
            ),
            label="alteration",
        )
        if what == "amount":
            return leg._replace(amount=(leg.amount or 0) + 1)
        if what == "debit":
            choices = [a for a in self.accounts if a != leg.debit_account_id]
            return leg._replace(debit_account_id=data.draw(st.sampled_from(choices)))
        if what == "credit":
            choices = [a for a in self.accounts if a != leg.credit_account_id]
            return leg._replace(credit_account_id=data.draw(st.sampled_from(choices)))
        if what == "kind":
            swapped: dict[str, Kind] = {
                "single": "pending",
                "pending": "single",
                "post": "void",
                "void": "post",
            }
            amount = None if leg.kind == "post" else leg.amount
            expires_at = leg.expires_at if leg.kind == "single" else None
            return leg._replace(kind=swapped[leg.kind], amount=amount, expires_at=expires_at)
        if what == "currency":
            return leg._replace(currency="USD")
        if what == "expiry":
            return leg._replace(expires_at=self._draw_expiry(data))
        return leg._replace(pending_key=self._draw_pending_ref(data, []))

    # -- transactions of several legs ----------------------------------------------------

    @rule(data=st.data())
    def transaction(self, data: st.DataObject) -> None:
        self._submit(self._draw_transaction(data, [], legs_min=2))

    @rule(data=st.data())
    def failing_transaction(self, data: st.DataObject) -> None:
        """Legs that may well pass, then a last one that cannot: nothing of it may apply."""
        legs = self._draw_transaction(data, [], legs_min=1, legs_max=legs_max - 1)
        doomed = self._draw_doomed(data)
        before = self._run(self._counters())
        result = self._submit((*legs, doomed))
        assert not result.ok, f"a transaction ending in {doomed} passed: {result}"
        assert self._run(self._counters()) == before, "a failed transaction moved money"

    def _draw_doomed(self, data: st.DataObject) -> TransferRequest:
        self.fresh += 1
        key = f"doomed{self.fresh}"
        bank = self.accounts[0]
        limited = [a for a in self.accounts if DEBIT_LIMITED in self.model.flags[a]]
        how = data.draw(st.sampled_from(("overdraft", "same", "zero", "missing")), label="doom")
        if how == "overdraft" and limited:
            debit = data.draw(st.sampled_from(limited))
            return TransferRequest.single(key, debit, bank, amount_fen_max)
        if how == "zero":
            return TransferRequest.single(key, bank, self.accounts[1], 0)
        if how == "missing":
            return TransferRequest.post(key, f"missing{self.fresh}")
        return TransferRequest.single(key, bank, bank, 1)

    # -- concurrency ---------------------------------------------------------------------

    @rule(data=st.data())
    def concurrent(self, data: st.DataObject) -> None:
        """Several transactions at once; later ones may resolve pendings of earlier ones,
        repeat them, or reuse their keys."""
        count = data.draw(st.integers(2, concurrent_transactions_max), label="transactions")
        batch: list[tuple[TransferRequest, ...]] = []
        pendings: list[str] = []
        for _ in range(count):
            earlier = self.history + batch
            if earlier and data.draw(st.integers(0, 4), label="repeat") == 4:
                batch.append(data.draw(st.sampled_from(earlier), label="repeated"))
            else:
                batch.append(self._draw_transaction(data, pendings, legs_min=1))

        async def submit_all() -> list[TransactionResult]:
            return list(
                await asyncio.gather(*(self.writer.execute(Transaction(tx)) for tx in batch))
            )

        commits = self.writer.batches
        results = self._run(submit_all())
        # The premise of this rule: the writer took them together (one commit, usually).
        assert self.writer.batches - commits < len(batch), "no two transactions shared a batch"
        for tx, result in zip(batch, results, strict=True):
            self._agree(tx, result, self.model.execute(tx))
            self.history.append(tx)

    # -- time ----------------------------------------------------------------------------

    @rule(seconds=ticks, sweep=st.booleans())
    def tick(self, seconds: int, sweep: bool) -> None:
        self.clock.now += timedelta(seconds=seconds)
        self.model.now = self.clock.now
        if sweep:
            self.expire_due()

    @rule()
    def expire_due(self) -> None:
        expired = self._run(self.writer.expire_due())
        assert expired == self.model.expire_due(), f"expire_due() released {expired}"

    # -- after every step ----------------------------------------------------------------

    @invariant()
    def journal_and_balances_match_the_model(self) -> None:
        self.steps += 1
        counters = self._run(self._counters())
        for account in self.accounts:
            assert counters[account] == self.model.counters(account), (
                f"account {account} ({self.model.flags[account]!r}): ledger"
                f" {counters[account]}, model {self.model.counters(account)}"
                " (debits pending, posted, credits pending, posted)"
            )
        journal = self._run(self._journal())
        if journal != self.model.transfers:
            extra = {k: v for k, v in journal.items() if self.model.transfers.get(k) != v}
            missing = {k: v for k, v in self.model.transfers.items() if journal.get(k) != v}
            raise AssertionError(f"journal differs: ledger has {extra}, model has {missing}")
        if self.steps % verify_every_steps == 0:
            report = self._run(verify(self.engine))
            assert report.ok, report.problems

    # -- helpers: submitting and comparing -----------------------------------------------

    def _submit(self, tx: Sequence[TransferRequest]) -> TransactionResult:
        requests = tuple(tx)
        result = self._run(self.writer.execute(Transaction(requests)))
        self._agree(requests, result, self.model.execute(requests))
        self.history.append(requests)
        return result

    def _agree(
        self, tx: Sequence[TransferRequest], result: TransactionResult, expected: Expected
    ) -> None:
        where = f"transaction {list(tx)} at {self.clock.now.isoformat()}"
        if expected.error is None:
            assert result.error is None, f"{where}: ledger refused ({result.error!r})"
            assert result.replayed == expected.replayed, f"{where}: replayed={result.replayed}"
            got = tuple(Stored.of(t) for t in result.transfers)
            assert got == expected.transfers, f"{where}: answered {got}"
            return
        want, error = expected.error, result.error
        assert type(error) is type(want), f"{where}: ledger {error!r}, model {want!r}"
        if isinstance(want, errors.IdempotencyConflict):
            assert isinstance(error, errors.IdempotencyConflict)
            assert (error.key, error.field) == (want.key, want.field), f"{where}: {error}"
        if isinstance(want, errors.InsufficientFunds):
            assert isinstance(error, errors.InsufficientFunds)
            got_shortfall = (error.account_id, error.available, error.wanted)
            assert got_shortfall == (want.account_id, want.available, want.wanted), where

    async def _counters(self) -> dict[AccountId, tuple[int, int, int, int]]:
        async with self.engine.connect() as conn:
            found = await get_accounts(conn, self.accounts)
        return {
            account: (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
            for account, a in found.items()
        }

    async def _journal(self) -> dict[str, Stored]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(transfers))
        return {row.key: Stored.of(Transfer.from_row(row)) for row in rows}

    # -- helpers: drawing requests from the model's state --------------------------------

    def _draw_transaction(
        self,
        data: st.DataObject,
        pendings: list[str],
        legs_min: int,
        legs_max: int = legs_max,
    ) -> tuple[TransferRequest, ...]:
        count = data.draw(st.integers(legs_min, legs_max), label="legs")
        return tuple(self._draw_leg(data, pendings) for _ in range(count))

    def _draw_leg(self, data: st.DataObject, pendings: list[str]) -> TransferRequest:
        can_resolve = bool(pendings or self.model.open_pendings)
        kinds = ("single", "pending", "pending", "post", "void")
        kind = data.draw(st.sampled_from(kinds if can_resolve else kinds[:3]), label="kind")
        if kind in ("single", "pending"):
            return self._draw_move(data, kind, pendings)
        return self._draw_resolution(data, kind, pendings)

    def _draw_move(self, data: st.DataObject, kind: str, pendings: list[str]) -> TransferRequest:
        """A single or pending transfer; a pending one's key joins `pendings`, so later legs
        of the same transaction or batch may resolve it."""
        key = self._draw_key(data)
        choices = [*self.accounts * 4, UNKNOWN_ACCOUNT]  # rarely an unknown one
        debit = data.draw(st.sampled_from(choices), label="debit")
        credit = debit
        if not self._mistake(data, "same account"):
            others = [account for account in choices if account != debit]
            credit = data.draw(st.sampled_from(others), label="credit")
        amount = 0 if self._mistake(data, "zero amount") else data.draw(amounts, label="amount")
        if kind == "single":
            return TransferRequest.single(key, debit, credit, amount)
        pendings.append(key)
        return TransferRequest.pending(
            key, debit, credit, amount, expires_at=self._draw_expiry(data)
        )

    def _draw_resolution(
        self, data: st.DataObject, kind: str, pendings: list[str]
    ) -> TransferRequest:
        key = self._draw_key(data)
        pending_key = self._draw_pending_ref(data, pendings)
        if kind == "void":
            return TransferRequest.void(key, pending_key)
        known = self.model.transfers.get(pending_key)
        held = known.amount if known is not None else 100
        how = data.draw(st.sampled_from(POST_AMOUNTS), label="post amount")
        amount = {
            "all": None,
            "exact": held,
            "partial": data.draw(st.integers(1, held)) if how == "partial" else None,
            "over": held + 1,
            "zero": 0,
        }[how]
        return TransferRequest.post(key, pending_key, amount=amount)

    def _mistake(self, data: st.DataObject, label: str) -> bool:
        return data.draw(st.integers(1, mistake_one_in), label=label) == mistake_one_in

    def _draw_key(self, data: st.DataObject) -> str:
        """Mostly a fresh key; one time in five one drawn before (or the key an expiry of an
        open pending transfer will take), for replays and conflicts."""
        reusable = [*self.seen, *(expire_key(key) for key in self.model.open_pendings)]
        if reusable and data.draw(st.integers(0, 4), label="reuse key") == 4:
            key = data.draw(st.sampled_from(reusable), label="reused key")
        else:
            self.fresh += 1
            key = f"k{self.fresh}"
        self.seen[key] = None
        return key

    def _draw_pending_ref(self, data: st.DataObject, pendings: list[str]) -> str:
        """Mostly an open pending transfer (or one created earlier in this transaction or
        batch); else any key drawn so far, resolved or not a pending at all, or none."""
        open_keys = [*self.model.open_pendings, *pendings]
        if open_keys and data.draw(st.integers(0, 3), label="open pending") < 3:
            return data.draw(st.sampled_from(open_keys), label="pending")
        return data.draw(st.sampled_from([*self.seen, "missing"]), label="any key")

    def _draw_expiry(self, data: st.DataObject) -> datetime | None:
        drawn = data.draw(expiries, label="expiry")
        if drawn is None:
            return None
        seconds, micros = drawn
        return self.clock.now + timedelta(seconds=seconds, microseconds=micros)


def _budget(examples: int, steps: int) -> settings:
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        report_multiple_bugs=False,  # shrink one failure: a step costs database round trips
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


class SqliteLedgerMachine(LedgerMachine):
    kind = "sqlite"


class PostgresLedgerMachine(LedgerMachine):
    kind = "postgresql"


# Sized for about 20-30 s for the file on two cores; a PostgreSQL example costs more (a
# schema migrated and dropped, a round trip per statement).
MACHINES: Final = {
    "sqlite": (SqliteLedgerMachine, _budget(examples=50, steps=40)),
    "postgresql": (PostgresLedgerMachine, _budget(examples=20, steps=40)),
}


@pytest.mark.parametrize("kind", sorted(MACHINES))
def test_the_ledger_behaves_as_the_model(kind: str) -> None:
    if kind == "postgresql":
        require_postgres()
    machine, budget = MACHINES[kind]
    run_state_machine_as_test(machine, settings=budget)


async def test_a_pending_replayed_with_another_expiry_is_a_conflict(book: Book) -> None:
    """A replay that asks for another expiry (or none) is a conflict, never a silent success
    that leaves the first request's expiry in force (TigerBeetle: exists_with_different_timeout)."""
    soon = TransferRequest.pending("p", book.agent, book.other, 100, expires_at=T0 + timedelta(1))
    assert (await book.run(soon)).ok
    for expires_at in (None, T0 + timedelta(days=2)):
        again = await book.run(soon._replace(expires_at=expires_at))
        assert isinstance(again.error, errors.IdempotencyConflict), again
