"""The operations table as every operation uses it: platform references, and finding an
operation's row by its idempotency key or its reference."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.schema import operations


def request_hash(kind: str, actor: str, target: str, amount: int) -> str:
    """What a replay under the same idempotency key must match (else it is a conflict)."""
    content = json.dumps([kind, actor, target, amount]).encode()
    return hashlib.sha256(content).hexdigest()


def new_reference(now: datetime) -> str:
    """A platform reference: sortable by time, unguessable, 24 characters."""
    return f"AC{now:%y%m%d%H%M%S}{secrets.token_hex(5).upper()}"


async def find_by_key(conn: AsyncConnection, key: str) -> Row[object] | None:
    """The operation recorded under an idempotency key, if any."""
    return (await conn.execute(select(operations).where(operations.c.key == key))).first()


async def find_by_ref(conn: AsyncConnection, ref: str) -> Row[object] | None:
    """The operation with a platform reference, if any."""
    return (await conn.execute(select(operations).where(operations.c.ref == ref))).first()
