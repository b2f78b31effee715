"""Allotment (划拨): a level-1 or level-2 agent passes deposit to an agent directly under it,
and can take it back (`reclaim`). One ledger transaction between the two deposit accounts,
with the operation's record in the same commit, idempotent on the channel's key: a replay
answers the recorded outcome and moves nothing; other content under the same key is a
conflict.

Only between a parent and its direct child, both active: an allotment to anyone else is
refused (`not_your_agent`) before anything is written. Taking back is limited by what the
child has available, as any debit of a deposit is (`insufficient_funds`). A posted allotment
queues the `allot_credited` SMS notice for the agent under, a posted reclaim
`allot_reclaimed` (ledger/operations/sms.py).
"""

from __future__ import annotations

import logging
from typing import Final

from sqlalchemy import Row

from ledger import errors
from ledger.accounts import get_account
from ledger.agents import Agent, find_agent, get_agent
from ledger.money import Msisdn
from ledger.operations.auth import authenticate
from ledger.operations.context import OperationContext, money_params, notify
from ledger.operations.contract import OK, OperationOutcome, OperationRequest, Value
from ledger.operations.records import find_by_key, new_reference, operation_record, request_hash
from ledger.transfers import Transaction, TransferRequest

log = logging.getLogger(__name__)

ALLOT: Final = "allot"
RECLAIM: Final = "reclaim"


async def allot(ctx: OperationContext, request: OperationRequest) -> OperationOutcome:
    """Parent → child: `msisdn` (the child), `amount_fen`, `pin`."""
    return await _move(ctx, request, ALLOT)


async def reclaim(ctx: OperationContext, request: OperationRequest) -> OperationOutcome:
    """Child → parent, asked by the parent: `msisdn` (the child), `amount_fen`, `pin`."""
    return await _move(ctx, request, RECLAIM)


async def _move(ctx: OperationContext, request: OperationRequest, kind: str) -> OperationOutcome:
    asked = money_params(request.params)
    if asked is None:
        return OperationOutcome("bad_request")
    target, amount, credential = asked.target, asked.amount, asked.credential
    content_hash = request_hash(kind, request.actor, target, amount)
    async with ctx.reader.connect() as conn:
        existing = await find_by_key(conn, request.key)
    if existing is not None:
        return await _replay(ctx, existing, content_hash)
    parent = await authenticate(ctx, request.actor, credential, request.source)
    if isinstance(parent, OperationOutcome):
        return parent
    async with ctx.reader.connect() as conn:
        child = await find_agent(conn, target)
    if child is None or child.parent_id != parent.id:
        return OperationOutcome("not_your_agent", {"msisdn": target})
    if not child.active:
        return OperationOutcome("agent_inactive", {"msisdn": target})
    payer, payee = (parent, child) if kind == ALLOT else (child, parent)
    now = ctx.clock()
    ref = new_reference(now)
    transfer = TransferRequest.single(
        f"{ref}:{kind}",
        payer.deposit_account_id,
        payee.deposit_account_id,
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
        agent_id=parent.id,
        msisdn=target,
        amount=amount,
        state="posted",
        now=now,
    )
    result = await ctx.writer.execute(Transaction((transfer,), (record,)))
    if isinstance(result.error, errors.InsufficientFunds):
        values = {"available_fen": result.error.available, "amount_fen": amount}
        return OperationOutcome("insufficient_funds", values)
    if isinstance(result.error, errors.RecordRefused):  # the same key, committed meanwhile
        async with ctx.reader.connect() as conn:
            raced = await find_by_key(conn, request.key)
        if raced is None:
            raise result.error
        return await _replay(ctx, raced, content_hash)
    result.unwrap()
    log.info("%s %s: %s → %s, %d fen", kind, ref, payer.msisdn, payee.msisdn, amount)
    # The agent under learns of its deposit moving, either way (a replay tells no one).
    moved: dict[str, Value] = {"sender": parent.msisdn, "amount_fen": amount, "ref": ref}
    notice = "allot_credited" if kind == ALLOT else "allot_reclaimed"
    await notify(ctx, target, notice, moved)
    return OperationOutcome(OK, await _values(ctx, parent, ref, target, amount))


async def _values(
    ctx: OperationContext, parent: Agent, ref: str, target: Msisdn, amount: int
) -> dict[str, Value]:
    async with ctx.reader.connect() as conn:
        deposit = await get_account(conn, parent.deposit_account_id)
    return {"ref": ref, "msisdn": target, "amount_fen": amount, "balance_fen": deposit.available}


async def _replay(ctx: OperationContext, row: Row[object], content_hash: str) -> OperationOutcome:
    if row.request_hash != content_hash:
        return OperationOutcome("conflict", {"ref": row.ref})
    async with ctx.reader.connect() as conn:
        parent = await get_agent(conn, row.agent_id)
    assert parent is not None, "an allotment's record names its agent"
    return OperationOutcome(OK, await _values(ctx, parent, row.ref, Msisdn(row.msisdn), row.amount))


__all__ = ["allot", "reclaim"]
