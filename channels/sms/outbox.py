"""The MT outbox: rows queued in batches, a sender loop handing them to the link with bounded
concurrency, retries with capped back-off, and delivery receipts.

- `Submitted` → `submitted` (with one part row per message id when a receipt was asked);
  a temporary `SubmitFailed` → tried again after `backoff_base_ms`, doubling up to
  `backoff_max_ms`, at most `attempts_max` times in all, then `failed`; a permanent one →
  `failed` at once.
- Receipts: every part DELIVRD → `delivered`; any part finally failed → `failed` (`expired`
  when the failure is EXPIRED). A receipt for no known part is counted and dropped (its parts
  were purged after `receipt_retention_ms`, or none was asked).
- A code's clear text exists only in the in-memory queue; its row holds the masked text. A
  code still queued when the process stops is failed by `recover()`, never sent masked: the
  sender asks again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from channels.sms.batcher import Batcher
from channels.sms.contract import OutboundSms, SmsTransport, Submitted
from channels.sms.counters import SmsCounters
from channels.sms.records import MT_CODE, Reply
from channels.sms.store import (
    DELIVERED,
    MtUpdate,
    NewMt,
    OutboxResult,
    OutboxWrite,
    ReceiptUpdate,
    purge_parts,
    queued_mts,
    write_outbox,
)
from ledger.jobs import Jobs, open_jobs

log = logging.getLogger(__name__)

submit_concurrency_max: Final = 16  # MTs in the link's hands at once
attempts_max: Final = 5  # submissions of one MT before it is failed
backoff_base_ms: Final = 1_000
backoff_max_ms: Final = 60_000
send_queue_max: Final = 4_096  # MTs waiting for a sender
recover_page_max: Final = 500  # queued rows read at a time on recovery
purge_interval_ms: Final = 60_000  # how often old receipt parts are purged


class SmsOutbox:
    def __init__(
        self,
        engine: AsyncEngine,
        transport: SmsTransport,
        *,
        clock_ms: Callable[[], int],
        counters: SmsCounters,
        receipt_retention_ms: int,
        concurrency: int = submit_concurrency_max,
        attempts: int = attempts_max,
        backoff_ms: tuple[int, int] = (backoff_base_ms, backoff_max_ms),
    ) -> None:
        assert concurrency > 0
        assert attempts > 0
        assert 0 < backoff_ms[0] <= backoff_ms[1]
        self._engine = engine
        self._transport = transport
        self._clock_ms = clock_ms
        self._counters = counters
        self._retention_ms = receipt_retention_ms
        self._concurrency = concurrency
        self._attempts = attempts
        self._backoff_ms = backoff_ms
        self._queue: asyncio.Queue[OutboundSms] = asyncio.Queue(send_queue_max)
        # New MTs, attempts' updates and receipts share one queue: one transaction a batch.
        self._writes: Batcher[OutboxWrite, OutboxResult] = Batcher(write_outbox, name="outbox")
        self._own_jobs: Jobs | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, jobs: Jobs | None = None) -> None:
        """Start sending; writes go through `jobs` (shared with the MO service by the
        composition root), or through jobs of the outbox's own."""
        if jobs is None:
            jobs = self._own_jobs = await open_jobs(self._engine, "sms-outbox")
        self._writes.start(jobs)
        self._tasks = [
            asyncio.create_task(self._sender(), name=f"sms-sender-{n}")
            for n in range(self._concurrency)
        ]
        self._tasks.append(asyncio.create_task(self._purger(), name="sms-receipt-purge"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self._writes.close()
        if self._own_jobs is not None:
            await self._own_jobs.close()
            self._own_jobs = None

    async def idle(self) -> None:
        """Wait until every MT handed over so far has had its last attempt (tests)."""
        await self._queue.join()

    async def queue(self, reply: Reply) -> int:
        """Store an MT that answers no MO (a notice, a code), then send it; its outbox id."""
        mt_id = await self._writes.submit(NewMt(reply, self._clock_ms()))
        assert isinstance(mt_id, int), "a new MT's result is its id"
        await self.send(mt_id, reply)
        return mt_id

    async def send(self, mt_id: int, reply: Reply) -> None:
        """Hand a stored MT to the senders (its row is already `queued`)."""
        self._counters.add("mt_queued")
        await self._queue.put(OutboundSms(mt_id, reply.recipient, reply.text, reply.receipt))

    async def recover(self) -> int:
        """Send what was queued and not submitted when the process stopped; fail the codes
        among them (their clear text is gone). How many were sent again."""
        after, resent = 0, 0
        while True:
            rows = await queued_mts(self._engine, after, recover_page_max)
            if not rows:
                return resent
            for row in rows:
                after = row.id
                if row.kind == MT_CODE:
                    await self._finish(row.id, "failed", row.attempts, "code lost in a restart")
                    continue
                resent += 1
                self._counters.add("mt_queued")
                await self._queue.put(OutboundSms(row.id, row.recipient, row.text, row.receipt))

    async def receipt(self, message_id: str, state: str, error: str | None) -> None:
        matched = await self._writes.submit(ReceiptUpdate(message_id, state, self._clock_ms()))
        if not matched:
            self._counters.add("receipt_unmatched")
        elif state == DELIVERED:
            self._counters.add("receipt_delivered")
        elif state in ("UNDELIV", "REJECTD", "DELETED", "UNKNOWN", "EXPIRED"):
            self._counters.add("receipt_failed")
            log.info("sms receipt %s: %s (%s)", message_id, state, error or "no error code")

    async def _sender(self) -> None:
        while True:
            message = await self._queue.get()
            try:
                await self._deliver(message)
            except asyncio.CancelledError:
                raise
            except Exception:  # a broken link must not stop the outbox; the row stays queued
                log.exception("sms mt %d: submission broke", message.id)
            finally:
                self._queue.task_done()

    async def _deliver(self, message: OutboundSms) -> None:
        wait_ms = self._backoff_ms[0]
        for attempt in range(1, self._attempts + 1):
            result = await self._transport.submit(message)
            if isinstance(result, Submitted):
                parts = result.message_ids if message.receipt else ()
                await self._finish(message.id, "submitted", attempt, None, parts)
                self._counters.add("mt_submitted")
                return
            if not result.temporary or attempt == self._attempts:
                log.warning("sms mt %d failed: %s", message.id, result.reason)
                await self._finish(message.id, "failed", attempt, result.reason)
                self._counters.add("mt_failed")
                return
            self._counters.add("mt_retried")
            await self._finish(message.id, "queued", attempt, result.reason)
            await asyncio.sleep(wait_ms / 1000)
            wait_ms = min(wait_ms * 2, self._backoff_ms[1])

    async def _finish(
        self, mt_id: int, state: str, attempts: int, reason: str | None, parts: tuple[str, ...] = ()
    ) -> None:
        update = MtUpdate(mt_id, state, attempts, reason, parts, self._clock_ms())
        await self._writes.submit(update)

    async def _purger(self) -> None:
        while True:
            await asyncio.sleep(purge_interval_ms / 1000)
            with contextlib.suppress(Exception):
                await self.purge()

    async def purge(self) -> int:
        """Drop receipt parts older than the retention; how many."""
        return await purge_parts(self._engine, self._clock_ms() - self._retention_ms)
