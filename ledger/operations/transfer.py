"""Subscriber transfer: a subscriber sends part of their own balance to another number (to a
postpaid number it pays the bill; BOSS decides which), after confirming with a one-time code.

1. `transfer_request` (number, amount): checks the amount against the per-operation limits,
   stores a fresh six-digit code for the sender — as a keyed hash, never in clear, valid for
   `transfer_code_ttl_s`, for `transfer_code_attempts_max` tries, once — and has it sent to
   the sender by SMS (`SmsLink`; without one the platform answers `unavailable`). A replay
   of the same request sends nothing new.
2. `transfer_confirm` (code): the sender's latest code, checked in constant time; used, it
   cannot be used again (taken by one conditional update). Then the operation row is
   recorded with its platform reference *before* BOSS is asked to move the balance under
   that reference — the top-up protocol, with no platform money held: the balance lives at
   BOSS. Applied → `posted`; refused → `failed`; unknown → the resolver asks BOSS by the
   reference, as for a sale.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta
from typing import Final

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from ledger.gateways.boss import BossApplied, BossFailed, BossResult
from ledger.money import Msisdn, msisdn
from ledger.operations.context import OperationContext, notify, param_fen, param_str
from ledger.operations.contract import OK, OperationOutcome, OperationRequest, Value
from ledger.operations.records import (
    find_by_key,
    find_by_ref,
    new_reference,
    outcome_of,
    recorded_values,
    request_hash,
)
from ledger.pins import unseal
from ledger.schema import confirmation_codes, operations

log = logging.getLogger(__name__)

KIND: Final = "transfer"
code_digits: Final = 6


def _code_hash(key: bytes, msisdn: str, salt: str, code: str) -> str:
    mac = hmac.new(key, f"code:v1:{salt}:{msisdn}:{code}".encode(), hashlib.sha256).hexdigest()
    return f"{salt}${mac}"


async def transfer_request(ctx: OperationContext, request: OperationRequest) -> OperationOutcome:
    """`msisdn` (who receives) and `amount_fen`; the code goes to the asking number."""
    target_text = param_str(request.params, "msisdn")
    amount = param_fen(request.params, "amount_fen")
    if target_text is None or amount is None or amount <= 0:
        return OperationOutcome("bad_request")
    try:
        target = msisdn(target_text)
    except ValueError:
        return OperationOutcome("bad_request")
    if target == request.actor:
        return OperationOutcome("same_subscriber")
    limits = ctx.limits
    if not limits.op_min_fen <= amount <= limits.op_max_fen:
        code = "amount_below_min" if amount < limits.op_min_fen else "amount_above_max"
        return OperationOutcome(code, {"min_fen": limits.op_min_fen, "max_fen": limits.op_max_fen})
    values: dict[str, Value] = {"msisdn": target, "amount_fen": amount}
    async with ctx.reader.connect() as conn:
        asked = (
            await conn.execute(
                select(confirmation_codes.c.id).where(
                    confirmation_codes.c.request_key == request.key
                )
            )
        ).first()
    if asked is not None:
        return OperationOutcome(OK, values)  # a replay: the code was sent already
    if ctx.sms is None:
        return OperationOutcome("unavailable")
    now = ctx.clock()
    code = f"{secrets.randbelow(10**code_digits):0{code_digits}d}"
    code_hash = _code_hash(ctx.pin_keys.current, request.actor, secrets.token_hex(8), code)
    try:
        async with ctx.engine.begin() as conn:
            await conn.execute(
                insert(confirmation_codes).values(
                    msisdn=request.actor,
                    code_hash=code_hash,
                    target=target,
                    amount=amount,
                    request_key=request.key,
                    created_at=now,
                    expires_at=now + timedelta(seconds=limits.transfer_code_ttl_s),
                    attempts=0,
                )
            )
    except IntegrityError:  # the same request, racing: the other one sends the code
        return OperationOutcome(OK, values)
    await ctx.sms.send_code(request.actor, code)
    log.info("transfer code sent to %s for %d fen to %s", request.actor, amount, target)
    return OperationOutcome(OK, values)


async def transfer_confirm(ctx: OperationContext, request: OperationRequest) -> OperationOutcome:
    """`code`: the one sent to the asking number."""
    credential = param_str(request.params, "code")
    typed = None if credential is None else unseal(ctx.pin_keys, request.actor, credential)
    if typed is None:
        return OperationOutcome("wrong_code")
    async with ctx.reader.connect() as conn:
        existing = await find_by_key(conn, request.key)
        if existing is not None:
            return outcome_of(existing.state, existing.reason, recorded_values(existing))
        pending = (
            await conn.execute(
                select(confirmation_codes)
                .where(
                    confirmation_codes.c.msisdn == request.actor,
                    confirmation_codes.c.used_at.is_(None),
                )
                .order_by(confirmation_codes.c.id.desc())
                .limit(1)
            )
        ).first()
    now = ctx.clock()
    limits = ctx.limits
    if (
        pending is None
        or pending.expires_at <= now
        or pending.attempts >= limits.transfer_code_attempts_max
    ):
        return OperationOutcome("code_expired")
    salt = pending.code_hash.partition("$")[0]
    expected = _code_hash(ctx.pin_keys.current, request.actor, salt, typed)
    if not hmac.compare_digest(expected, pending.code_hash):
        async with ctx.engine.begin() as conn:
            await conn.execute(
                update(confirmation_codes)
                .where(confirmation_codes.c.id == pending.id)
                .values(attempts=confirmation_codes.c.attempts + 1)
            )
        return OperationOutcome("wrong_code")
    ref = new_reference(now)
    content_hash = request_hash(KIND, request.actor, pending.target, pending.amount)
    async with ctx.engine.begin() as conn:
        taken = await conn.execute(
            update(confirmation_codes)
            .where(confirmation_codes.c.id == pending.id, confirmation_codes.c.used_at.is_(None))
            .values(used_at=now)
        )
        if taken.rowcount != 1:
            return OperationOutcome("code_expired")  # used by a concurrent confirmation
        await conn.execute(
            insert(operations).values(
                ref=ref,
                key=request.key,
                request_hash=content_hash,
                kind=KIND,
                channel=request.channel,
                agent_id=None,
                msisdn=pending.target,
                counterparty=request.actor,
                amount=pending.amount,
                state="reserved",
                created_at=now,
                updated_at=now,
            )
        )
    result = await ctx.boss.transfer(ref, request.actor, Msisdn(pending.target), pending.amount)
    return await settle_transfer(ctx, ref, result)


async def settle_transfer(ctx: OperationContext, ref: str, result: BossResult) -> OperationOutcome:
    """Record what BOSS decided (nothing of the platform's money moved); unknown stays for the
    resolver. Only an open record changes, so the live path and the resolver agree."""
    now = ctx.clock()
    if isinstance(result, BossApplied):
        state, reason = "posted", None
    elif isinstance(result, BossFailed):
        state, reason = "failed", result.reason[:64]
    else:
        state, reason = "unknown", result.detail[:64]
    async with ctx.engine.begin() as conn:
        changed = await conn.execute(
            update(operations)
            .where(operations.c.ref == ref, operations.c.state.in_(("reserved", "unknown")))
            .values(state=state, reason=reason, updated_at=now)
        )
        row = await find_by_ref(conn, ref)
    assert row is not None
    if changed.rowcount == 1 and state == "posted":
        values: dict[str, Value] = {
            "sender": row.counterparty,
            "amount_fen": row.amount,
            "ref": ref,
        }
        await notify(ctx, row.msisdn, "transfer_credited", values)
    log.info("transfer %s: %s%s", ref, row.state, f" ({row.reason})" if row.reason else "")
    return outcome_of(row.state, row.reason, recorded_values(row))


__all__ = ["KIND", "settle_transfer", "transfer_confirm", "transfer_request"]
