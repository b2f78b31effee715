"""USSD dialog sessions in the platform database, so any platform process can take the next
request of a session and a restart loses none."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.schema import ussd_sessions
from dialogs.engine import SessionState


@dataclass(frozen=True, slots=True)
class StoredSession:
    session_id: str
    msisdn: str
    state: SessionState
    consumed: int
    page: int
    last_digest: str
    last_reply: str
    ended: bool
    updated_ms: int


class UssdSessionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self, session_id: str) -> StoredSession | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(ussd_sessions).where(ussd_sessions.c.session_id == session_id)
                )
            ).first()
        if row is None:
            return None
        return StoredSession(
            session_id=row.session_id,
            msisdn=row.msisdn,
            state=SessionState.from_dict(json.loads(row.state)),
            consumed=row.consumed,
            page=row.page,
            last_digest=row.last_digest,
            last_reply=row.last_reply,
            ended=row.ended,
            updated_ms=row.updated_ms,
        )

    async def save(self, session: StoredSession, service_code: str, *, new: bool) -> None:
        values = {
            "msisdn": session.msisdn,
            "state": json.dumps(session.state.to_dict(), ensure_ascii=False),
            "consumed": session.consumed,
            "page": session.page,
            "last_digest": session.last_digest,
            "last_reply": session.last_reply,
            "ended": session.ended,
            "updated_ms": session.updated_ms,
        }
        async with self._engine.begin() as conn:
            if new:
                await conn.execute(
                    insert(ussd_sessions).values(
                        session_id=session.session_id,
                        service_code=service_code,
                        created_ms=session.updated_ms,
                        **values,
                    )
                )
            else:
                await conn.execute(
                    update(ussd_sessions)
                    .where(ussd_sessions.c.session_id == session.session_id)
                    .values(**values)
                )

    async def purge(self, older_than_ms: int) -> int:
        """Drop sessions idle since before `older_than_ms`; answers how many."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(ussd_sessions).where(ussd_sessions.c.updated_ms < older_than_ms)
            )
        return result.rowcount
