"""The audit log: what people and the platform did to agents and their credentials.

Append-only rows (time, actor, action, subject, JSON detail); written in the same database
transaction as the change they describe, so a change is never without its entry. Details
never hold a PIN, a seal or a hash.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.schema import audit_log


async def record(
    conn: AsyncConnection,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    detail: Mapping[str, str | int | None] | None = None,
    key: str | None = None,
) -> None:
    await conn.execute(
        insert(audit_log).values(
            at=at,
            actor=actor[:64],
            action=action,
            subject=subject[:64],
            detail=json.dumps(dict(detail or {}), ensure_ascii=False, sort_keys=True),
            key=key,
        )
    )


__all__ = ["record"]
