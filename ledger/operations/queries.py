"""Read-only operations: what an agent may ask about its own accounts and transactions."""

from __future__ import annotations

from typing import Final

from sqlalchemy import or_, select

from ledger.accounts import get_account, get_accounts
from ledger.clock import SHANGHAI
from ledger.operations.auth import authenticate
from ledger.operations.context import OperationContext, notify, param_str
from ledger.operations.contract import OK, OperationOutcome, OperationRequest, Value
from ledger.schema import operations


async def balance(ctx: OperationContext, request: OperationRequest) -> OperationOutcome:
    credential = param_str(request.params, "pin")
    if credential is None:
        return OperationOutcome("bad_request")
    agent = await authenticate(ctx, request.actor, credential, request.source)
    if isinstance(agent, OperationOutcome):
        return agent
    async with ctx.reader.connect() as conn:
        found = await get_accounts(conn, [agent.deposit_account_id, agent.commission_account_id])
        deposit, commission = found[agent.deposit_account_id], found[agent.commission_account_id]
    return OperationOutcome(
        OK, {"balance_fen": deposit.available, "commission_fen": commission.available}
    )


history_items_max: Final = 5
SMS_CHANNEL: Final = "sms"  # the channel whose reply carries the list


async def history(ctx: OperationContext, request: OperationRequest) -> OperationOutcome:
    """The agent's last transactions, newest first: its sales, bill payments, reversals and
    allotments out, and allotments and deposits in. `pin` only; answered as `items` (kind,
    ref, msisdn, amount_fen, state, time), with `count` and the deposit `balance_fen`, for the
    SMS channel to send; `unavailable` on a platform without an SMS link."""
    credential = param_str(request.params, "pin")
    if credential is None:
        return OperationOutcome("bad_request")
    if ctx.sms is None:  # the list goes out by SMS: promise none that will not come
        return OperationOutcome("unavailable")
    agent = await authenticate(ctx, request.actor, credential, request.source)
    if isinstance(agent, OperationOutcome):
        return agent
    mine = (operations.c.agent_id == agent.id) & (operations.c.kind != "deposit")
    received = operations.c.kind.in_(("allot", "deposit")) & (operations.c.msisdn == agent.msisdn)
    query = (
        select(operations)
        .where(or_(mine, received))
        .order_by(operations.c.created_at.desc(), operations.c.id.desc())
        .limit(history_items_max)
    )
    async with ctx.reader.connect() as conn:
        rows = (await conn.execute(query)).all()
        deposit = await get_account(conn, agent.deposit_account_id)
    items = tuple(
        {
            "kind": row.kind if row.kind != "allot" or row.agent_id == agent.id else "allot_in",
            "ref": row.ref,
            "msisdn": row.msisdn,
            "amount_fen": row.amount,
            "state": row.state,
            "time": row.created_at.astimezone(SHANGHAI).strftime("%m-%d %H:%M"),
        }
        for row in rows
    )
    values: dict[str, Value] = {"count": len(items), "balance_fen": deposit.available}
    if request.channel != SMS_CHANNEL:  # over SMS the list is the reply itself
        await notify(ctx, agent.msisdn, "history", values, items)
    return OperationOutcome(OK, values, items)
