"""Sales by an agent to a subscriber: prepaid top-up and postpaid bill payment (more than due
is credited ahead by BOSS), both following the top-up protocol:

1. validate (PIN, status, limits), then durably commit the reservation (a pending transfer
   from the agent's deposit to BOSS clearing), the outcome record with the platform
   reference, and the day's limit counters — before anything leaves the platform;
2. call BOSS with that reference (`recharge` or `billpay`);
3. applied → post, with the commissions in the same transaction; definite failure → void
   (giving the limits back); unknown → the reservation stays (`unknown`) for the resolver,
   which asks BOSS by the same reference. Never a second reference.

The channel's idempotency key guards the whole operation: a replay with the same content
answers the recorded outcome and sends nothing; different content answers `conflict`.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import date
from typing import Final

from sqlalchemy import Row, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger import errors, limits
from ledger.accounts import get_account
from ledger.agents import Agent, ancestors, get_agent
from ledger.clock import business_day
from ledger.commissions import commission_legs, shares
from ledger.gateways.boss import BossApplied, BossFailed, BossResult
from ledger.money import Fen, Msisdn
from ledger.operations.auth import decide
from ledger.operations.context import OperationContext, money_params, notify
from ledger.operations.contract import OperationOutcome, OperationRequest, Value
from ledger.operations.records import (
    find_by_key,
    find_by_ref,
    new_reference,
    operation_record,
    outcome_of,
    recorded_values,
    request_hash,
)
from ledger.operations.sale_reads import SaleAsk, read_for_sale, read_for_sale_now
from ledger.schema import operations
from ledger.transfers import Record, RecordUpdate, Transaction, TransferRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reserved:
    ref: str
    pending_key: str
    agent: Agent
    target: Msisdn
    amount: Fen
    day: date  # whose daily counters it took from
    kind: str  # topup | billpay
    # The agent's ancestors as read with it before the reservation (who earns the overrides);
    # None: read them when the sale is posted (the resolver settling a recorded sale).
    above: tuple[Agent, ...] | None = None


SALE_KINDS: Final = ("topup", "billpay")


async def topup(ctx: OperationContext, request: OperationRequest) -> OperationOutcome:
    """Credit a prepaid number: `msisdn`, `amount_fen`, `pin`."""
    return await _sale(ctx, request, "topup")


async def billpay(ctx: OperationContext, request: OperationRequest) -> OperationOutcome:
    """Pay a postpaid number's bill: `msisdn`, `amount_fen`, `pin`."""
    return await _sale(ctx, request, "billpay")


async def _sale(ctx: OperationContext, request: OperationRequest, kind: str) -> OperationOutcome:
    asked = money_params(request.params)
    if asked is None:
        return OperationOutcome("bad_request")
    target, amount = asked.target, asked.amount
    content_hash = request_hash(kind, request.actor, target, amount)
    reserved = await _reserve(ctx, request, kind, target, amount, asked.credential, content_hash)
    if isinstance(reserved, OperationOutcome):
        return reserved
    call = ctx.boss.recharge if kind == "topup" else ctx.boss.billpay
    result = await call(reserved.ref, target, reserved.amount)
    return await settle(ctx, reserved, result)


async def _reserve(
    ctx: OperationContext,
    request: OperationRequest,
    kind: str,
    target: Msisdn,
    amount: Fen,
    credential: str,
    content_hash: str,
) -> Reserved | OperationOutcome:
    now = ctx.clock()
    day = business_day(now)
    ask = SaleAsk(request.key, request.actor, request.source, target, day)
    if ctx.loop_reads is not None:
        read = ctx.loop_reads.run(
            functools.partial(read_for_sale_now, ask=ask, defaults=ctx.limits)
        )
    else:
        async with ctx.reader.connect() as conn:
            read = await read_for_sale(conn, ask, ctx.limits)
    if read.replay:
        async with ctx.reader.connect() as conn:
            existing = await find_by_key(conn, request.key)
        if existing is not None:
            return await _replay(ctx, existing, content_hash)
    agent = await decide(ctx, read.agent, read.source, request.actor, credential, request.source)
    if isinstance(agent, OperationOutcome):
        return agent
    if int(agent.level) not in ctx.limits.selling_levels:
        return OperationOutcome("not_allowed_to_sell")
    rule = read.rule
    assert rule is not None, "read with the agent"
    subscriber_cap = ctx.limits.subscriber_daily_fen
    refused = limits.refusal(rule, amount, read.sold, read.received, subscriber_cap)
    if refused is not None:
        return OperationOutcome(refused.code, refused.values)
    ref = new_reference(now)
    reservation = TransferRequest.pending(
        f"{ref}:reserve",
        agent.deposit_account_id,
        ctx.platform.boss_clearing,
        amount,
        reference=ref,
        meta={"op": kind, "channel": request.channel, "msisdn": target},
    )
    record = operation_record(
        ref=ref,
        key=request.key,
        request_hash=content_hash,
        kind=kind,
        channel=request.channel,
        agent_id=agent.id,
        msisdn=target,
        amount=amount,
        state="reserved",
        now=now,
        pending_key=reservation.key,
    )
    counters = limits.take(rule, agent, target, amount, day, subscriber_cap)
    result = await ctx.writer.execute(Transaction((reservation,), (record, *counters)))
    if isinstance(result.error, errors.InsufficientFunds):
        values = {"available_fen": result.error.available, "amount_fen": amount}
        return OperationOutcome("insufficient_funds", values)
    if isinstance(result.error, errors.LimitExceeded):  # a concurrent sale took the rest
        if result.error.limit == limits.SUBSCRIBER_DAILY:
            return OperationOutcome("subscriber_daily_reached", {"limit_fen": subscriber_cap})
        async with ctx.reader.connect() as conn:
            sold = await limits.usage(conn, limits.agent_subject(agent), day)
        refused = limits.refusal(rule, amount, sold, limits.Usage(), subscriber_cap)
        if refused is None:  # the count, not the amount
            return OperationOutcome("daily_count_reached", {"limit_count": rule.daily_count})
        return OperationOutcome(refused.code, refused.values)
    if isinstance(result.error, errors.RecordRefused):
        # A concurrent request with the same key committed first: answer what it recorded.
        async with ctx.reader.connect() as conn:
            raced = await find_by_key(conn, request.key)
        if raced is None:
            raise result.error
        return await _replay(ctx, raced, content_hash)
    result.unwrap()
    log.info(
        "%s %s reserved: agent=%s msisdn=%s amount=%d", kind, ref, agent.msisdn, target, amount
    )
    return Reserved(ref, reservation.key, agent, target, amount, day, kind, read.above)


async def settle(
    ctx: OperationContext, reserved: Reserved, result: BossResult, *, late: bool = False
) -> OperationOutcome:
    """Post or void the reservation as BOSS decided (or leave it for the resolver). The
    subscriber is told of a credit; `late` (the resolver settling a sale whose agent was told
    `pending`) tells the agent how it ended, too."""
    now = ctx.clock()
    ref = reserved.ref
    resolution: TransferRequest | None = None
    legs: tuple[TransferRequest, ...] = ()
    counters: tuple[Record, ...] = ()
    if isinstance(result, BossApplied):
        state, reason = "posted", None
        resolution = TransferRequest.post(f"{ref}:post", reserved.pending_key)
        legs = await _commissions(ctx, reserved)
    elif isinstance(result, BossFailed):
        state, reason = "failed", result.reason
        resolution = TransferRequest.void(f"{ref}:void", reserved.pending_key)
        counters = limits.give_back(reserved.agent, reserved.target, reserved.amount, reserved.day)
    if resolution is not None:
        record = RecordUpdate(
            operations, "ref", ref, {"state": state, "reason": reason, "updated_at": now}
        )
        transaction = Transaction((resolution, *legs), (record, *counters))
        settled = await ctx.writer.execute(transaction)
        if isinstance(settled.error, errors.AlreadyResolved):
            async with ctx.reader.connect() as conn:
                row = await find_by_ref(conn, ref)
            assert row is not None
            return await _replay(ctx, row, row.request_hash)
        settled.unwrap()
        available = settled.available.get(reserved.agent.deposit_account_id)
        await _tell(ctx, reserved, state, late)
    else:
        available = None
        state, reason = "unknown", getattr(result, "detail", "unknown")
        async with ctx.engine.begin() as conn:  # unless the resolver settled it meanwhile
            await conn.execute(
                update(operations)
                .where(operations.c.ref == ref, operations.c.state == "reserved")
                .values(state=state, reason=reason[:64], updated_at=now)
            )
    if available is None:  # the writer answers it with the post or void; else read it
        async with ctx.reader.connect() as conn:
            deposit = await get_account(conn, reserved.agent.deposit_account_id)
        available = deposit.available
    log.info("sale %s %s%s", ref, state, f" ({reason})" if reason else "")
    values: dict[str, Value] = {
        "ref": ref,
        "msisdn": reserved.target,
        "amount_fen": reserved.amount,
        "balance_fen": available,
    }
    return outcome_of(state, reason, values)


async def _tell(ctx: OperationContext, reserved: Reserved, state: str, late: bool) -> None:
    values: dict[str, Value] = {
        "msisdn": reserved.target,
        "amount_fen": reserved.amount,
        "ref": reserved.ref,
    }
    if state == "posted":
        await notify(ctx, reserved.target, f"{reserved.kind}_credited", values)
    if late:
        settled = {**values, "kind": reserved.kind, "state": state}
        await notify(ctx, reserved.agent.msisdn, "sale_settled", settled)


async def reserved_from_row(conn: AsyncConnection, row: Row[object]) -> Reserved:
    """A recorded sale as `settle` takes it (the resolver settles it this way)."""
    agent = await get_agent(conn, row.agent_id)
    assert agent is not None, "a sale's record names its agent"
    day = business_day(row.created_at)
    target, amount = Msisdn(row.msisdn), Fen(row.amount)
    return Reserved(row.ref, row.pending_key, agent, target, amount, day, row.kind)


async def _commissions(ctx: OperationContext, reserved: Reserved) -> tuple[TransferRequest, ...]:
    """The commission legs of a posted sale, in the post's own transaction."""
    above = reserved.above
    if above is None:
        async with ctx.reader.connect() as conn:
            above = tuple(await ancestors(conn, reserved.agent))
    earned = shares(ctx.commissions, reserved.agent, above, reserved.amount)
    meta = {"msisdn": reserved.target}
    return commission_legs(reserved.ref, ctx.platform.commission_expense, earned, meta)


async def _replay(ctx: OperationContext, row: Row[object], content_hash: str) -> OperationOutcome:
    """The recorded answer, with the agent's balance now (as a first answer carries one: the
    channels' receipts show it). Replays are rare: the extra read is no cost."""
    if row.request_hash != content_hash:
        return OperationOutcome("conflict", {"ref": row.ref})
    values = recorded_values(row)
    async with ctx.reader.connect() as conn:
        agent = await get_agent(conn, row.agent_id)
        if agent is not None:
            values["balance_fen"] = (await get_account(conn, agent.deposit_account_id)).available
    return outcome_of(row.state, row.reason, values)
