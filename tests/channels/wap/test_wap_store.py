"""The one-time form tokens on both databases: one spend wins, whatever races it; every
other try is refused with its reason; old rows are purged."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncEngine

from channels.wap.store import WapSession, WapStore, digest, new_secret
from ledger.money import Msisdn

NOW_MS = 1_790_000_000_000


def _session(session_hash: str, updated_ms: int = NOW_MS) -> WapSession:
    return WapSession(
        session_hash=session_hash,
        msisdn=Msisdn("8613800000003"),
        trusted=True,
        stage="dialog",
        language="zh-CN",
        state=None,
        attempts=0,
        created_ms=updated_ms,
        updated_ms=updated_ms,
    )


async def test_a_token_is_spent_once_and_only_by_its_session(engine: AsyncEngine) -> None:
    store = WapStore(engine)
    mine, theirs, token = digest(new_secret()), digest(new_secret()), digest(new_secret())
    await store.save(_session(mine), new=True, token_hash=token, expires_ms=NOW_MS + 1000)
    await store.save(_session(theirs), new=True, token_hash=None, expires_ms=0)
    assert await store.spend(token, theirs, NOW_MS) == "other_session"
    assert await store.spend(digest("made up"), mine, NOW_MS) == "unknown"
    results = await asyncio.gather(*(store.spend(token, mine, NOW_MS + 1) for _ in range(8)))
    assert sorted(results, key=str) == [None] + ["spent"] * 7
    loaded = await store.load(mine)
    assert loaded == _session(mine)


async def test_an_expired_token_is_refused_and_purged(engine: AsyncEngine) -> None:
    store = WapStore(engine)
    session, token = digest(new_secret()), digest(new_secret())
    await store.save(_session(session), new=True, token_hash=token, expires_ms=NOW_MS + 1000)
    assert await store.spend(token, session, NOW_MS + 1000) == "expired"
    assert await store.purge(NOW_MS + 2000) == 1
    assert await store.load(session) is None
    assert await store.spend(token, session, NOW_MS) == "unknown"


async def test_sessions_still_signing_in_go_at_their_timeout(engine: AsyncEngine) -> None:
    """Anyone can open a sign-in session with a GET: those rows, and their tokens, go once the
    session has timed out; a session past sign-in stays until the day is over."""
    store = WapStore(engine)
    signing_in, signed_in = digest(new_secret()), digest(new_secret())
    tokens = digest(new_secret()), digest(new_secret())
    anonymous = replace(_session(signing_in), stage="number", msisdn=None, trusted=False)
    await store.save(anonymous, new=True, token_hash=tokens[0], expires_ms=NOW_MS + 300_000)
    await store.save(_session(signed_in), new=True, token_hash=tokens[1], expires_ms=NOW_MS + 1)
    day_ago = NOW_MS - 86_400_000
    assert await store.purge(day_ago, signin_before_ms=NOW_MS) == 0  # both touched at NOW_MS
    assert await store.purge(day_ago, signin_before_ms=NOW_MS + 1) == 1
    assert await store.load(signing_in) is None
    assert await store.spend(tokens[0], signing_in, NOW_MS) == "unknown"  # its token went too
    assert await store.load(signed_in) == _session(signed_in)
    assert await store.spend(tokens[1], signed_in, NOW_MS) is None
