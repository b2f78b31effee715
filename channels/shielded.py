"""Operations that outlive the request that started them, and the wait for them at shutdown.

A USSD gateway that gives up, a browser that goes away, a caller who hangs up: none of them
may stop an operation half-way, nor the receipt it ends with. Each channel runs the work of
an operation (execute, resume the engine, queue the receipt) as a task of its own and awaits
it shielded, so cancelling the request leaves the task running; `drain` waits for those still
running, after the channel's intake has stopped and before the ledger closes. Work whose
caller is gone has nobody to raise to, so its failure is logged here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("work that outlived its request failed: %s", task.get_name(), exc_info=error)


class ShieldedWork:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """`work`'s result; a cancelled caller stops waiting, the work goes on."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(_log_failure)  # its caller is gone: nobody else will know
            raise

    async def drain(self) -> None:
        """Wait for the work still running, including work started while waiting."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
