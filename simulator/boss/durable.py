"""Group commit for the BOSS emulator's state file, on the event loop.

One commit with `synchronous=FULL` per call (an fsync, about 1 ms, blocking the loop) held the
emulator to about 700 calls a second. Now a call's event goes into the open transaction at
once (memory follows it, so the next call decides on it) and the commit is scheduled for the
loop's next turn: every call decided in the meantime rides on that one commit. No answer
leaves before the commit that holds its event — nor any answer at all while a commit is
pending, so a status query never reports what a crash could still take back: "a reference is
applied at most once; state survives a restart" holds as before.

A commit that fails leaves memory ahead of the file: every call waiting on it gets the error
(a 500, which the platform reads as an unknown outcome) and the emulator should be restarted,
which replays the file as it is.
"""

from __future__ import annotations

import asyncio
import logging

from simulator.boss.store import BossStore

logger = logging.getLogger(__name__)


class GroupCommit:
    def __init__(self, store: BossStore) -> None:
        self._store = store
        self._waiting: list[asyncio.Future[None]] = []
        self._scheduled = False

    def start(self) -> None:
        """Defer the store's commits to this object (call on the running loop)."""
        self._loop = asyncio.get_running_loop()
        self._store.defer_commits(self._pending)

    def stop(self) -> None:
        """Commit what is pending; each append commits on its own again."""
        self._store.defer_commits(None)
        self._answer(None)

    async def durable(self) -> None:
        """Return once everything decided so far is on disk."""
        if not self._scheduled:
            return
        future = self._loop.create_future()
        self._waiting.append(future)
        await future

    def _pending(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._commit)

    def _commit(self) -> None:
        self._scheduled = False
        try:
            self._store.commit()
        except Exception as error:
            logger.exception("BOSS state file: a group commit failed; restart the emulator")
            self._answer(error)
        else:
            self._answer(None)

    def _answer(self, error: Exception | None) -> None:
        waiting, self._waiting = self._waiting, []
        for future in waiting:
            if future.done():
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)


__all__ = ["GroupCommit"]
