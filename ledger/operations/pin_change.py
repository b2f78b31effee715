"""Change PIN: the old PIN (counted like any other), the new one twice (the dialog compares
the two seals), and a refusal of weak PINs and of the old PIN again. The new PIN is stored
under the current key with a fresh salt, and the change is audited in the same transaction.
A replay of the same request (same key) answers `ok` and changes nothing: after the change
its old PIN is wrong, and a retried request must not count as a guess."""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from ledger import audit
from ledger.operations.auth import authenticate
from ledger.operations.context import OperationContext, param_str
from ledger.operations.contract import OK, OperationOutcome, OperationRequest
from ledger.pins import hash_pin, is_weak, unseal
from ledger.schema import agents, audit_log

log = logging.getLogger(__name__)


async def change_pin(ctx: OperationContext, request: OperationRequest) -> OperationOutcome:
    old = param_str(request.params, "old_pin")
    new_credential = param_str(request.params, "new_pin")
    if old is None or new_credential is None:
        return OperationOutcome("bad_request")
    async with ctx.reader.connect() as conn:
        done = (
            await conn.execute(select(audit_log.c.id).where(audit_log.c.key == request.key))
        ).first()
    if done is not None:
        return OperationOutcome(OK)
    new = unseal(ctx.pin_keys, request.actor, new_credential)
    if new is None:
        return OperationOutcome("bad_request")
    agent = await authenticate(ctx, request.actor, old, request.source)
    if isinstance(agent, OperationOutcome):
        return agent
    if is_weak(new):
        return OperationOutcome("weak_pin")
    if new == unseal(ctx.pin_keys, request.actor, old):
        return OperationOutcome("same_pin")
    now = ctx.clock()
    async with ctx.engine.begin() as conn:
        await conn.execute(
            update(agents)
            .where(agents.c.id == agent.id)
            .values(pin_hash=hash_pin(ctx.pin_keys, agent.msisdn, new), pin_failures=0)
        )
        await audit.record(
            conn,
            at=now,
            actor=request.source,
            action="pin_changed",
            subject=agent.msisdn,
            detail={"channel": request.channel},
            key=request.key,
        )
    log.info("agent %s changed its PIN (%s)", agent.msisdn, request.channel)
    return OperationOutcome(OK)
