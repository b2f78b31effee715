"""Reversal (冲正) of a posted sale, asked by the agent who sold it, within
`LimitDefaults.reversal_window_s`, through BOSS's reversal call, with the commissions it paid
clawed back.

The same protocol as a sale, the other way round:
1. reserve, in one commit: the refund (BOSS clearing → the agent's deposit) and each
   commission leg of the sale in reverse (earner's commission account → commission expense),
   all pending, with the reversal's operation row (naming the sale: unique, so a sale is
   reversed at most once). A commission account that no longer holds its share refuses the
   reversal here, before BOSS is asked;
2. ask BOSS to reverse the sale's reference under the reversal's own reference;
3. applied → post every pending transfer and mark the sale `reversed`, in one transaction;
   definite failure (the subscriber already spent it: `insufficient_balance`) → void them;
   unknown → kept for the resolver, like any sale.
Daily sales limits are not given back by a reversal.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger import errors
from ledger.accounts import get_account
from ledger.agents import Agent, get_agent
from ledger.gateways.boss import BossApplied, BossFailed, BossResult
from ledger.operations.auth import authenticate
from ledger.operations.context import OperationContext, param_str
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
from ledger.operations.sale import SALE_KINDS
from ledger.schema import operations, transfers
from ledger.transfers import RecordUpdate, Transaction, TransferRequest

log = logging.getLogger(__name__)

KIND = "reversal"


async def reversal(ctx: OperationContext, request: OperationRequest) -> OperationOutcome:
    """`ref` (the sale's reference) and `pin`, by the agent who sold it."""
    original_ref = param_str(request.params, "ref")
    credential = param_str(request.params, "pin")
    if original_ref is None or credential is None or len(original_ref) > 32:
        return OperationOutcome("bad_request")
    content_hash = request_hash(KIND, request.actor, original_ref, 0)
    async with ctx.reader.connect() as conn:
        existing = await find_by_key(conn, request.key)
    if existing is not None:
        if existing.request_hash != content_hash:
            return OperationOutcome("conflict", {"ref": existing.ref})
        return outcome_of(existing.state, existing.reason, recorded_values(existing))
    agent = await authenticate(ctx, request.actor, credential, request.source)
    if isinstance(agent, OperationOutcome):
        return agent
    now = ctx.clock()
    async with ctx.reader.connect() as conn:
        sale = await find_by_ref(conn, original_ref)
        legs = () if sale is None else await _commission_legs(conn, original_ref)
    if sale is None or sale.kind not in SALE_KINDS or sale.agent_id != agent.id:
        return OperationOutcome("unknown_reference", {"ref": original_ref})
    if sale.state != "posted":
        return OperationOutcome("not_reversible", {"ref": original_ref})
    if now - sale.created_at > timedelta(seconds=ctx.limits.reversal_window_s):
        minutes = ctx.limits.reversal_window_s // 60
        return OperationOutcome("reversal_window_passed", {"ref": original_ref, "minutes": minutes})
    ref = new_reference(now)
    refund = TransferRequest.pending(
        f"{ref}:refund",
        ctx.platform.boss_clearing,
        agent.deposit_account_id,
        sale.amount,
        reference=ref,
        meta={"op": KIND, "original_ref": original_ref, "msisdn": sale.msisdn},
    )
    clawbacks = tuple(
        TransferRequest.pending(
            f"{ref}:clawback:{n}",
            leg.credit_account_id,
            ctx.platform.commission_expense,
            leg.amount,
            reference=ref,
            meta={"op": "commission_clawback", "original_ref": original_ref},
        )
        for n, leg in enumerate(legs)
    )
    record = operation_record(
        ref=ref,
        key=request.key,
        request_hash=content_hash,
        kind=KIND,
        channel=request.channel,
        agent_id=agent.id,
        msisdn=sale.msisdn,
        amount=sale.amount,
        state="reserved",
        now=now,
        pending_key=refund.key,
        original_ref=original_ref,
    )
    held = await ctx.writer.execute(Transaction((refund, *clawbacks), (record,)))
    if isinstance(held.error, errors.InsufficientFunds):
        return OperationOutcome("not_reversible", {"ref": original_ref})
    if isinstance(held.error, errors.RecordRefused):  # reversed already, or the same key raced
        return OperationOutcome("not_reversible", {"ref": original_ref})
    held.unwrap()
    result = await ctx.boss.reversal(ref, original_ref)
    async with ctx.reader.connect() as conn:
        row = await find_by_ref(conn, ref)
    assert row is not None
    return await settle_reversal(ctx, row, result)


async def settle_reversal(
    ctx: OperationContext, row: Row[object], result: BossResult
) -> OperationOutcome:
    """Post or void what the reversal holds as BOSS decided; unknown leaves it for the
    resolver. Keyed by the reversal's reference, so the live path and the resolver agree."""
    now = ctx.clock()
    async with ctx.reader.connect() as conn:
        held = await _held(conn, row.ref)
        agent = await get_agent(conn, row.agent_id)
    assert agent is not None
    if isinstance(result, BossApplied | BossFailed):
        applied = isinstance(result, BossApplied)
        state = "posted" if applied else "failed"
        reason = result.reason if isinstance(result, BossFailed) else None
        resolve = TransferRequest.post if applied else TransferRequest.void
        resolutions = tuple(resolve(f"{key}:{state}", key) for key in held)
        records = [
            RecordUpdate(
                operations, "ref", row.ref, {"state": state, "reason": reason, "updated_at": now}
            )
        ]
        if applied:
            records.append(
                RecordUpdate(
                    operations, "ref", row.original_ref, {"state": "reversed", "updated_at": now}
                )
            )
        settled = await ctx.writer.execute(Transaction(resolutions, tuple(records)))
        if isinstance(settled.error, errors.AlreadyResolved):  # the resolver, or the live path
            async with ctx.reader.connect() as conn:
                current = await find_by_ref(conn, row.ref)
            assert current is not None
            state, reason = current.state, current.reason
        else:
            settled.unwrap()
    else:
        state, reason = "unknown", result.detail
        async with ctx.engine.begin() as conn:
            await conn.execute(
                update(operations)
                .where(operations.c.ref == row.ref, operations.c.state == "reserved")
                .values(state=state, reason=reason[:64], updated_at=now)
            )
    log.info("reversal %s of %s: %s", row.ref, row.original_ref, state)
    return outcome_of(state, reason, {**recorded_values(row), **await _balance(ctx, agent)})


async def _commission_legs(conn: AsyncConnection, sale_ref: str) -> Sequence[Row[Any, Any]]:
    """The commission transfers a posted sale paid (keys `<ref>:commission:<agent id>`)."""
    query = select(transfers.c.credit_account_id, transfers.c.amount).where(
        transfers.c.reference == sale_ref,
        transfers.c.kind == "single",
        transfers.c.key.like(f"{sale_ref}:commission:%"),
    )
    return (await conn.execute(query.order_by(transfers.c.seq))).all()


async def _held(conn: AsyncConnection, ref: str) -> list[str]:
    """The pending transfers a reversal reserved: its refund and its claw-backs."""
    query = select(transfers.c.key).where(
        transfers.c.reference == ref, transfers.c.kind == "pending"
    )
    return list((await conn.execute(query.order_by(transfers.c.key))).scalars())


async def _balance(ctx: OperationContext, agent: Agent) -> dict[str, Value]:
    async with ctx.reader.connect() as conn:
        deposit = await get_account(conn, agent.deposit_account_id)
    return {"balance_fen": deposit.available}


__all__ = ["KIND", "reversal", "settle_reversal"]
