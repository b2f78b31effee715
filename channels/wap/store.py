"""WAP sessions and their one-time form tokens in the platform database.

A session id and a form token are bearer secrets (whoever holds both may answer the page),
so both are random (`secrets.token_urlsafe`, 192 bits) and only their SHA-256 is stored: a
reader of the database cannot answer anyone's page. (A keyed hash buys nothing here: the
values are random, not guessable like PINs.)

Every page with a form has one fresh token, bound to its session and expiring with it. A
POST is taken only by spending its token: one conditional UPDATE (`spent_ms IS NULL`, the
right session, not expired) that exactly one request can win, on SQLite and PostgreSQL
alike. A replayed form, a second tab racing the first, a token of another session, an
expired or invented one all find nothing to update, and the channel answers a refusal
without touching the session. Since a session's only live token is the one on its last
page, spending it also serialises the session's turns: the session row needs no versions.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.schema import wap_form_tokens, wap_sessions
from dialogs.engine import SessionState
from ledger.money import Msisdn

Stage = Literal["number", "pin", "dialog", "ended"]
SIGNIN_STAGES: Final[tuple[Stage, ...]] = ("number", "pin")  # no one known yet
Refusal = Literal["unknown", "spent", "expired", "other_session"]

secret_bytes: Final = 24  # 192 bits of randomness per session id and per token
secret_chars_max: Final = 64  # a posted id or token longer than this is not one of ours


def new_secret() -> str:
    return secrets.token_urlsafe(secret_bytes)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class WapSession:
    session_hash: str
    msisdn: Msisdn | None  # None until a signing-in user has typed it
    trusted: bool  # the number came from a trusted gateway's header
    stage: Stage
    language: str
    state: SessionState | None  # the engine's, once the dialog runs
    attempts: int  # sign-in tries (number, PIN) in this session
    created_ms: int
    updated_ms: int

    @property
    def label(self) -> str:
        """What logs call the session (a prefix of its hash, never the id itself)."""
        return self.session_hash[:12]


def _row(session: WapSession) -> dict[str, object]:
    return {
        "session_hash": session.session_hash,
        "msisdn": session.msisdn,
        "trusted": session.trusted,
        "stage": session.stage,
        "language": session.language,
        "state": None if session.state is None else json.dumps(session.state.to_dict()),
        "attempts": session.attempts,
        "created_ms": session.created_ms,
        "updated_ms": session.updated_ms,
    }


class WapStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self, session_hash: str) -> WapSession | None:
        query = select(wap_sessions).where(wap_sessions.c.session_hash == session_hash)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return WapSession(
            session_hash=row.session_hash,
            msisdn=None if row.msisdn is None else Msisdn(row.msisdn),
            trusted=bool(row.trusted),
            stage=row.stage,
            language=row.language,
            state=None if row.state is None else SessionState.from_dict(json.loads(row.state)),
            attempts=int(row.attempts),
            created_ms=int(row.created_ms),
            updated_ms=int(row.updated_ms),
        )

    async def spend(self, token_hash: str, session_hash: str, now_ms: int) -> Refusal | None:
        """Spend the token of a POST: None when this request won it, else why not."""
        tokens = wap_form_tokens.c
        spend = (
            update(wap_form_tokens)
            .where(
                (tokens.token_hash == token_hash)
                & (tokens.session_hash == session_hash)
                & tokens.spent_ms.is_(None)
                & (tokens.expires_ms > now_ms)
            )
            .values(spent_ms=now_ms)
        )
        async with self._engine.begin() as conn:
            if (await conn.execute(spend)).rowcount == 1:
                return None
            query = select(wap_form_tokens).where(tokens.token_hash == token_hash)
            row = (await conn.execute(query)).first()
        if row is None:
            return "unknown"
        if row.session_hash != session_hash:
            return "other_session"
        if row.spent_ms is not None:
            return "spent"
        return "expired"

    async def save(
        self, session: WapSession, *, new: bool, token_hash: str | None, expires_ms: int
    ) -> None:
        """Write the session (insert when `new`) and, when its page has a form, that form's
        token, in one transaction: a page is answered only once both are committed."""
        values = _row(session)
        async with self._engine.begin() as conn:
            if new:
                await conn.execute(insert(wap_sessions).values(values))
            else:
                await conn.execute(
                    update(wap_sessions)
                    .where(wap_sessions.c.session_hash == session.session_hash)
                    .values(values)
                )
            if token_hash is not None:
                await conn.execute(
                    insert(wap_form_tokens).values(
                        token_hash=token_hash,
                        session_hash=session.session_hash,
                        created_ms=session.updated_ms,
                        expires_ms=expires_ms,
                        spent_ms=None,
                    )
                )

    async def purge(self, before_ms: int, *, signin_before_ms: int | None = None) -> int:
        """Drop sessions silent since `before_ms`, and those still signing in (no one known
        yet: every anonymous `GET /wap/` opens one) silent since `signin_before_ms`, with
        their tokens, and tokens expired before `before_ms`; how many sessions went."""
        idle = wap_sessions.c.updated_ms < before_ms
        if signin_before_ms is not None:
            signing_in = and_(
                wap_sessions.c.stage.in_(SIGNIN_STAGES),
                wap_sessions.c.updated_ms < signin_before_ms,
            )
            idle = or_(idle, signing_in)
        going = select(wap_sessions.c.session_hash).where(idle)
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(wap_form_tokens).where(
                    or_(
                        wap_form_tokens.c.expires_ms < before_ms,
                        wap_form_tokens.c.session_hash.in_(going),
                    )
                )
            )
            dropped = await conn.execute(delete(wap_sessions).where(idle))
        return int(dropped.rowcount)


__all__ = ["Refusal", "Stage", "WapSession", "WapStore", "digest", "new_secret"]
