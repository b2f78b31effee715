"""Read-only operations: what an agent may ask about its own accounts."""

from __future__ import annotations

from ledger.accounts import get_accounts
from ledger.operations.auth import authenticate
from ledger.operations.context import OperationContext, param_str
from ledger.operations.contract import OK, OperationOutcome, OperationRequest


async def balance(ctx: OperationContext, request: OperationRequest) -> OperationOutcome:
    credential = param_str(request.params, "pin")
    if credential is None:
        return OperationOutcome("bad_request")
    agent = await authenticate(ctx, request.actor, credential, request.source)
    if isinstance(agent, OperationOutcome):
        return agent
    async with ctx.engine.connect() as conn:
        found = await get_accounts(conn, [agent.deposit_account_id, agent.commission_account_id])
        deposit, commission = found[agent.deposit_account_id], found[agent.commission_account_id]
    return OperationOutcome(
        OK, {"balance_fen": deposit.available, "commission_fen": commission.available}
    )
