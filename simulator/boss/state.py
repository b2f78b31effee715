"""The BOSS emulator's domain: subscribers, and operations applied at most once per reference.

`BossState` is synchronous and free of aiohttp and asyncio. Each mutation first decides, then
commits one event: the event goes to the sink (the SQLite state file, `store.BossStore`) before
it changes memory, and replaying the file goes through the very same `_apply`, which re-derives
every balance change and checks it against the positions recorded in the event.

Every change of money is a list of credits (msisdn, fen): a credit raises a prepaid balance or
lowers a postpaid bill due, so `net_fen()` (balances minus bills) moves by exactly the sum of
the credits. Recharge and billpay credit, a transfer's credits sum to zero, a reversal credits
the negation of its original.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime
from typing import Protocol

from simulator.boss.model import (
    BossOperation,
    Clock,
    Event,
    Fen,
    Lookup,
    Msisdn,
    OperationRecorded,
    Outcome,
    Position,
    Reason,
    Ref,
    RefCancelled,
    Request,
    Subscriber,
    SubscriberSet,
    business_day,
    shanghai_now,
)

RECORDS_HEADER = ("ref", "kind", "msisdn", "counterparty", "amount", "status", "applied_at")

Credit = tuple[Msisdn, int]


class EventSink(Protocol):
    """Where committed events go before they change memory (the state file)."""

    def append(self, event: Event) -> None: ...

    def close(self) -> None: ...


class ReplayMismatchError(Exception):
    """A stored event contradicts the state before it; `index` counts events from 0."""

    def __init__(self, why: str, index: int | None = None) -> None:
        super().__init__(why if index is None else f"event {index}: {why}")
        self.why = why
        self.index = index


class BossState:
    """All subscribers and operations of the emulated BOSS; see the module docstring."""

    def __init__(self, *, clock: Clock = shanghai_now, sink: EventSink | None = None) -> None:
        self._clock = clock
        self._sink = sink
        self._subscribers: dict[Msisdn, Subscriber] = {}
        self._operations: dict[Ref, BossOperation] = {}
        self._cancelled: dict[Ref, datetime] = {}
        self._reversed_by: dict[Ref, Ref] = {}

    @classmethod
    def replay(
        cls, events: Iterable[Event], *, clock: Clock = shanghai_now, sink: EventSink | None = None
    ) -> BossState:
        """Rebuild a state from stored events; new events then go to `sink`."""
        state = cls(clock=clock)
        for index, event in enumerate(events):
            try:
                state._apply(event)
            except ReplayMismatchError as error:
                raise ReplayMismatchError(error.why, index) from error
        state._sink = sink
        return state

    @property
    def sink(self) -> EventSink | None:
        """Where committed events go (the state file), if anywhere."""
        return self._sink

    def close(self) -> None:
        """Close the sink (the state file), if any."""
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    # -- queries ---------------------------------------------------------------------------

    def subscriber(self, msisdn: Msisdn) -> Subscriber | None:
        """The subscriber with that (normalised) number, or None when BOSS does not know it."""
        return self._subscribers.get(msisdn)

    def subscribers(self) -> list[Subscriber]:
        """Every subscriber, ordered by number."""
        return [self._subscribers[key] for key in sorted(self._subscribers)]

    def is_empty(self) -> bool:
        """True when nothing was ever committed (a fresh state file)."""
        return not (self._subscribers or self._operations or self._cancelled)

    def net_fen(self) -> int:
        """Sum of prepaid balances minus sum of bills due: moved only by credits and debits."""
        return sum(s.balance_fen - s.bill_due_fen for s in self._subscribers.values())

    def status(self, ref: Ref) -> Lookup:
        """Whether the reference was applied, failed, cancelled, or never seen."""
        operation = self._operations.get(ref)
        if operation is not None:
            return Lookup(ref, operation.status, operation, self._reversed_by.get(ref))
        if ref in self._cancelled:
            return Lookup(ref, "cancelled")
        return Lookup(ref, "not_found")

    def records(self, day: date) -> str:
        """CSV of the operations applied on one Asia/Shanghai business day, by time then ref."""
        applied = [
            op
            for op in self._operations.values()
            if op.applied_at is not None and business_day(op.applied_at) == day
        ]
        applied.sort(key=lambda op: (op.applied_at, op.ref))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(RECORDS_HEADER)
        for op in applied:
            assert op.applied_at is not None
            # A reversal names what it reverses in the counterparty column.
            counterparty = op.original_ref if op.kind == "reversal" else op.counterparty
            writer.writerow(
                (
                    op.ref,
                    op.kind,
                    op.msisdn or "",
                    counterparty or "",
                    op.amount_fen,
                    op.status,
                    op.applied_at.isoformat(),
                )
            )
        return out.getvalue()

    # -- mutations -------------------------------------------------------------------------

    def put_subscriber(self, subscriber: Subscriber) -> None:
        """Add a subscriber or replace one wholesale (seeding and test set-up)."""
        self._commit(SubscriberSet(subscriber))

    def recharge(self, ref: Ref, msisdn: Msisdn, amount_fen: Fen) -> Outcome:
        """Credit a prepaid subscriber's balance."""
        request = Request("recharge", msisdn=msisdn, amount_fen=amount_fen)
        return self._submit(ref, request, lambda: self._check_prepaid_target(msisdn))

    def billpay(self, ref: Ref, msisdn: Msisdn, amount_fen: Fen) -> Outcome:
        """Pay a postpaid subscriber's bill; more than due is credited ahead."""
        request = Request("billpay", msisdn=msisdn, amount_fen=amount_fen)
        return self._submit(ref, request, lambda: self._check_postpaid_target(msisdn))

    def transfer(self, ref: Ref, from_: Msisdn, to: Msisdn, amount_fen: Fen) -> Outcome:
        """Move prepaid balance to another prepaid balance, or onto a postpaid bill."""
        request = Request("transfer", msisdn=from_, counterparty=to, amount_fen=amount_fen)
        return self._submit(ref, request, lambda: self._check_transfer(from_, to))

    def reversal(self, ref: Ref, original_ref: Ref) -> Outcome:
        """Undo an applied recharge, billpay or transfer, once."""
        request = Request("reversal", original_ref=original_ref)
        return self._submit(ref, request, lambda: self._check_reversal(original_ref))

    def cancel(self, ref: Ref) -> Lookup:
        """Make sure an unknown reference is never applied; report a decided one as it is."""
        lookup = self.status(ref)
        if lookup.status != "not_found":
            return lookup
        self._commit(RefCancelled(ref, self._now()))
        return self.status(ref)

    # -- deciding --------------------------------------------------------------------------

    def _submit(self, ref: Ref, request: Request, check: Callable[[], Reason | None]) -> Outcome:
        if ref in self._cancelled:
            return Outcome(ref, "cancelled")
        existing = self._operations.get(ref)
        if existing is not None:
            if existing.request != request:
                return Outcome(ref, "conflict")
            return Outcome(ref, existing.status, existing, replayed=True)
        now = self._now()
        draft = self._draft(ref, request, now)
        reason = check()
        if reason is None:
            after = self._positions_after(self._credits(draft))
            if after is None:
                reason = "insufficient_balance"
            else:
                draft = replace(draft, positions_after=after)
        if reason is not None:
            draft = replace(draft, status="failed", reason=reason, applied_at=None)
        self._commit(OperationRecorded(draft))
        return Outcome(ref, draft.status, draft)

    def _draft(self, ref: Ref, request: Request, now: datetime) -> BossOperation:
        """The record as if applied; reversals copy who and how much from their original."""
        msisdn, counterparty, amount = request.msisdn, request.counterparty, request.amount_fen
        if request.kind == "reversal":
            assert request.original_ref is not None
            original = self._operations.get(request.original_ref)
            if original is not None:
                msisdn, counterparty = original.msisdn, original.counterparty
                amount = original.amount_fen
        return BossOperation(
            ref=ref,
            kind=request.kind,
            msisdn=msisdn,
            counterparty=counterparty,
            amount_fen=amount if amount is not None else Fen(0),
            status="applied",
            reason=None,
            recorded_at=now,
            applied_at=now,
            original_ref=request.original_ref,
        )

    def _check_prepaid_target(self, msisdn: Msisdn) -> Reason | None:
        subscriber = self._subscribers.get(msisdn)
        if subscriber is None:
            return "unknown_subscriber"
        if subscriber.kind != "prepaid":
            return "not_prepaid"
        if subscriber.status != "active":
            return "subscriber_inactive"
        return None

    def _check_postpaid_target(self, msisdn: Msisdn) -> Reason | None:
        subscriber = self._subscribers.get(msisdn)
        if subscriber is None:
            return "unknown_subscriber"
        if subscriber.kind != "postpaid":
            return "not_postpaid"
        return None

    def _check_transfer(self, from_: Msisdn, to: Msisdn) -> Reason | None:
        payer = self._subscribers.get(from_)
        payee = self._subscribers.get(to)
        if payer is None or payee is None:
            return "unknown_subscriber"
        if from_ == to:
            return "same_subscriber"
        if payer.kind != "prepaid":
            return "not_prepaid"
        if payer.status != "active" or (payee.kind == "prepaid" and payee.status != "active"):
            return "subscriber_inactive"
        return None  # the balance is checked with the positions after

    def _check_reversal(self, original_ref: Ref) -> Reason | None:
        original = self._operations.get(original_ref)
        if original is not None and original.kind == "reversal":
            return "original_is_reversal"
        if original is None or original.status != "applied":
            return "original_not_applied"
        if original_ref in self._reversed_by:
            return "already_reversed"
        return None  # the balance is checked with the positions after

    def _credits(self, operation: BossOperation) -> list[Credit]:
        """The credits an applied operation makes, `msisdn` first."""
        amount = operation.amount_fen
        if operation.kind in ("recharge", "billpay"):
            assert operation.msisdn is not None
            return [(operation.msisdn, amount)]
        if operation.kind == "transfer":
            assert operation.msisdn is not None
            assert operation.counterparty is not None
            return [(operation.msisdn, -amount), (operation.counterparty, amount)]
        assert operation.original_ref is not None
        original = self._operations[operation.original_ref]
        return [(msisdn, -credit) for msisdn, credit in self._credits(original)]

    def _positions_after(self, credits: list[Credit]) -> tuple[Position, ...] | None:
        """Positions once the credits are made, or None when a prepaid balance would go below 0."""
        positions = []
        for msisdn, credit in credits:
            subscriber = self._subscribers[msisdn]
            if subscriber.kind == "prepaid":
                amount = subscriber.balance_fen + credit
                if amount < 0:
                    return None
            else:
                amount = subscriber.bill_due_fen - credit
            positions.append(Position(msisdn, subscriber.kind, Fen(amount)))
        return tuple(positions)

    # -- committing and applying -----------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock()
        assert now.tzinfo is not None, "the clock must return aware datetimes"
        return now

    def _commit(self, event: Event) -> None:
        # Write-ahead: once the sink has it durably, memory follows; if the write fails,
        # memory is unchanged and the caller gets an error instead of an answer.
        if self._sink is not None:
            self._sink.append(event)
        self._apply(event)

    def _apply(self, event: Event) -> None:
        if isinstance(event, SubscriberSet):
            self._subscribers[event.subscriber.msisdn] = event.subscriber
        elif isinstance(event, RefCancelled):
            if event.ref in self._operations:
                raise ReplayMismatchError(f"reference {event.ref} cancelled after its decision")
            self._cancelled[event.ref] = event.at
        else:
            self._apply_operation(event.operation)

    def _apply_operation(self, operation: BossOperation) -> None:
        ref = operation.ref
        if ref in self._operations or ref in self._cancelled:
            raise ReplayMismatchError(f"reference {ref} decided twice")
        if operation.status == "applied":
            after = self._replayed_positions(operation)
            if after != operation.positions_after:
                raise ReplayMismatchError(
                    f"reference {ref}: positions {after} differ from the recorded "
                    f"{operation.positions_after}"
                )
            for position in after:
                subscriber = self._subscribers[position.msisdn]
                if subscriber.kind == "prepaid":
                    subscriber = replace(subscriber, balance_fen=position.amount_fen)
                else:
                    subscriber = replace(subscriber, bill_due_fen=position.amount_fen)
                self._subscribers[position.msisdn] = subscriber
            if operation.original_ref is not None:
                self._reversed_by[operation.original_ref] = ref
        self._operations[ref] = operation

    def _replayed_positions(self, operation: BossOperation) -> tuple[Position, ...] | None:
        """Positions an applied operation leads to; a stored event naming the unknown is wrong."""
        original_ref = operation.original_ref
        if original_ref is not None and original_ref in self._reversed_by:
            raise ReplayMismatchError(f"reference {original_ref} reversed twice")
        try:
            return self._positions_after(self._credits(operation))
        except KeyError as error:
            raise ReplayMismatchError(
                f"reference {operation.ref} names unknown {error.args[0]}"
            ) from error
