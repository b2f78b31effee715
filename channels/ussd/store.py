"""USSD dialog sessions in the platform database, so any platform process can take the next
request of a session and a restart loses none.

Three things make it cheap without making it wrong (the reasoning is in docs/ussd.md):

- **Group commit.** `save` queues the row and waits; one flusher writes every queued save in
  one transaction (SQLite: on a connection and thread of the store's own, see
  `_store_backends`), then wakes them all. A reply is sent only once its state is committed,
  so a page the handset saw never rests on state a crash can lose.
- **Conditional writes.** Every row carries a version, `updated_ms`, strictly increasing per
  session (`next_version`). A save names the version it read (`seen`; None: the id must be
  free) and applies only if the row is still there: two processes (or a retry racing its
  original) never overwrite each other's turn unseen; the loser is told (`save` answers
  False) and reruns its turn on a fresh read.
- **A per-process cache** of the sessions this process last read or wrote, by id. It is only
  a guess of the row: a turn computed from it is saved conditionally like any other, so a
  stale entry (another process took a request of the session) costs a conflict and a rerun,
  never a lost update. The service checks the row (`version`) before it runs an operation
  from a cached session, so nothing with an effect outside the row runs on a stale guess.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from channels.ussd._store_backends import Backend, EngineBackend, Row, SqliteBackend, Write
from dialogs.engine import SessionState

log = logging.getLogger(__name__)

cache_sessions_max: Final = 50_000  # sessions kept in a process's cache (least recent dropped)
group_saves_max: Final = 512  # saves committed in one transaction at most


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
    updated_ms: int  # the row's version as read or written


def next_version(now_ms: int, seen: int | None) -> int:
    """The version a save writes: the clock, but always above the version it replaces, so two
    saves within one millisecond still differ and a conditional write cannot be fooled."""
    return now_ms if seen is None else max(now_ms, seen + 1)


def _session(row: Row) -> StoredSession:
    (session_id, msisdn, _code, state, consumed, page, digest, reply, ended, _c, updated) = row
    return StoredSession(
        session_id=session_id,
        msisdn=msisdn,
        state=SessionState.from_dict(json.loads(state)),
        consumed=int(consumed),
        page=int(page),
        last_digest=digest,
        last_reply=reply,
        ended=bool(ended),
        updated_ms=int(updated),
    )


class UssdSessionStore:
    """Sessions by id, cached, saved in groups; `close()` when done (it owns a thread on
    SQLite). The backend is chosen at first use: a SQLite file gets connections of its own,
    anything else goes through `engine`."""

    def __init__(self, engine: AsyncEngine, *, cache_max: int = cache_sessions_max) -> None:
        assert cache_max >= 0, cache_max
        self._engine = engine
        self._backend: Backend | None = None
        self._opening = asyncio.Lock()
        self._cache: OrderedDict[str, StoredSession] = OrderedDict()
        self._cache_max = cache_max
        self._queue: list[tuple[Write, StoredSession, asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.groups = 0  # transactions committed, and saves in them (for benchmarks)
        self.saves = 0

    async def _open(self) -> Backend:
        if self._backend is None:
            async with self._opening:
                if self._backend is None:
                    sqlite = await SqliteBackend.for_engine(self._engine)
                    self._backend = sqlite if sqlite is not None else EngineBackend(self._engine)
        return self._backend

    # --- the cache ------------------------------------------------------------------------

    def cached(self, session_id: str) -> StoredSession | None:
        """The session as this process last read or wrote it (a guess of the row), or None."""
        session = self._cache.get(session_id)
        if session is not None:
            self._cache.move_to_end(session_id)
        return session

    def _remember(self, session: StoredSession) -> None:
        known = self._cache.get(session.session_id)
        if known is not None and known.updated_ms > session.updated_ms:
            return  # a read that raced a newer write of ours: keep the newer
        self._cache[session.session_id] = session
        self._cache.move_to_end(session.session_id)
        while len(self._cache) > self._cache_max:
            self._cache.popitem(last=False)

    def forget(self, session_id: str) -> None:
        self._cache.pop(session_id, None)

    # --- reads ----------------------------------------------------------------------------

    async def load(self, session_id: str) -> StoredSession | None:
        """The session as the database holds it now (never from the cache)."""
        row = await (await self._open()).read(session_id)
        if row is None:
            self.forget(session_id)
            return None
        session = _session(row)
        self._remember(session)
        return session

    async def version(self, session_id: str) -> int | None:
        """The row's version now (None: no such row)."""
        return await (await self._open()).version(session_id)

    # --- writes ---------------------------------------------------------------------------

    async def save(self, session: StoredSession, service_code: str, *, seen: int | None) -> bool:
        """Write `session` (its `updated_ms` is the new version) if the row is still at version
        `seen` (None: if no row has the id). Answers once committed: True, or False when the
        row had moved on (nothing written; the caller reruns on a fresh read)."""
        assert seen is None or session.updated_ms > seen, (seen, session.updated_ms)
        write = Write(
            session_id=session.session_id,
            msisdn=session.msisdn,
            service_code=service_code,
            state=json.dumps(session.state.to_dict(), ensure_ascii=False),
            consumed=session.consumed,
            page=session.page,
            last_digest=session.last_digest,
            last_reply=session.last_reply,
            ended=session.ended,
            updated_ms=session.updated_ms,
            seen=seen,
        )
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((write, session, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="ussd-store-flush")
        return await done

    async def _flush(self) -> None:
        """Commit queued saves, a group at a time, until the queue is empty. Saves queued
        while a group commits form the next group: the wait for one fsync is shared."""
        try:
            backend = await self._open()
        except Exception as exc:  # no database to write to: fail what waits, not hang it
            queued, self._queue = self._queue, []
            for _, _, done in queued:
                if not done.done():
                    done.set_exception(exc)
            return
        while self._queue:
            group = self._queue[:group_saves_max]
            del self._queue[:group_saves_max]
            try:
                applied = await backend.write([write for write, _, _ in group])
            except Exception as exc:  # the database refused the group: every save in it fails
                log.warning("ussd session store: a group of %d saves failed: %s", len(group), exc)
                for write, _, done in group:
                    self.forget(write.session_id)
                    if not done.done():
                        done.set_exception(exc)
                continue
            self.groups += 1
            self.saves += len(group)
            for (write, session, done), ok in zip(group, applied, strict=True):
                if ok:
                    self._remember(session)
                else:
                    self.forget(write.session_id)
                if not done.done():
                    done.set_result(ok)

    async def purge(self, older_than_ms: int) -> int:
        """Drop sessions idle since before `older_than_ms`; answers how many."""
        dropped = await (await self._open()).purge(older_than_ms)
        for session_id in [k for k, v in self._cache.items() if v.updated_ms < older_than_ms]:
            del self._cache[session_id]
        return dropped

    async def close(self) -> None:
        """Commit what is queued, then let go of the connections and their threads."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.wait([self._flusher])
        if self._backend is not None:
            await self._backend.close()
            self._backend = None
        self._cache.clear()
