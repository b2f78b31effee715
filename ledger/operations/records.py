"""The operations table as every operation uses it: platform references, and finding an
operation's row by its idempotency key or its reference."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.operations.contract import OK, PENDING, OperationOutcome, Value
from ledger.schema import operations
from ledger.transfers import RecordInsert

# BOSS's refusals that mean something to the person asking; any other answers `rejected`.
BOSS_REASONS: Final = frozenset(
    {
        "unknown_subscriber",
        "not_prepaid",
        "not_postpaid",
        "subscriber_inactive",
        "insufficient_balance",
        "same_subscriber",
    }
)


def recorded_values(row: Row[object]) -> dict[str, Value]:
    """What every recorded operation's answer carries."""
    return {"ref": row.ref, "msisdn": row.msisdn, "amount_fen": row.amount}


def outcome_of(state: str, reason: str | None, values: dict[str, Value]) -> OperationOutcome:
    """The answer a recorded state gives: posted → ok; failed → BOSS's reason (or
    `rejected`); anything still open → pending (the resolver finishes it)."""
    if state == "posted":
        return OperationOutcome(OK, values)
    if state == "failed":
        return OperationOutcome(reason if reason in BOSS_REASONS else "rejected", values)
    return OperationOutcome(PENDING, values)


def request_hash(kind: str, actor: str, target: str, amount: int) -> str:
    """What a replay under the same idempotency key must match (else it is a conflict)."""
    content = json.dumps([kind, actor, target, amount]).encode()
    return hashlib.sha256(content).hexdigest()


def operation_record(
    *,
    ref: str,
    key: str,
    request_hash: str,
    kind: str,
    channel: str,
    agent_id: int | None,
    msisdn: str,
    amount: int,
    state: str,
    now: datetime,
    **columns: Any,
) -> RecordInsert:
    """An operation's row, to ride in the commit of its first ledger transaction (so the
    record and the money it speaks of are written together or not at all)."""
    values = {
        "ref": ref,
        "key": key,
        "request_hash": request_hash,
        "kind": kind,
        "channel": channel,
        "agent_id": agent_id,
        "msisdn": msisdn,
        "amount": amount,
        "state": state,
        "reason": None,
        "pending_key": None,
        "created_at": now,
        "updated_at": now,
    }
    return RecordInsert(operations, {**values, **columns})


def new_reference(now: datetime) -> str:
    """A platform reference: sortable by time, unguessable, 24 characters."""
    return f"AC{now:%y%m%d%H%M%S}{secrets.token_hex(5).upper()}"


async def find_by_key(conn: AsyncConnection, key: str) -> Row[object] | None:
    """The operation recorded under an idempotency key, if any."""
    return (await conn.execute(select(operations).where(operations.c.key == key))).first()


async def find_by_ref(conn: AsyncConnection, ref: str) -> Row[object] | None:
    """The operation with a platform reference, if any."""
    return (await conn.execute(select(operations).where(operations.c.ref == ref))).first()
