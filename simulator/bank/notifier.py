"""Delivery of the bank's notifications to the platform: at least once, across restarts.

Each pending notification is POSTed to the platform's `/bank/notify` with its stored body and
a fresh `X-Bank-Signature`. A 2xx answer ends it; anything else (a refusal, a 5xx, a time-out,
a refused connection) schedules the next attempt after a back-off that doubles from
`retry_initial_ms` up to `retry_max_ms`, until `attempts_max` attempts were made (then it is
`abandoned`, for a person to look at). The schedule lives in the bank's SQLite file, so a
restarted emulator carries on where it stopped.

One task delivers, oldest booking first; a new booking wakes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Final

import aiohttp

from simulator.bank.faults import FaultConfig
from simulator.bank.model import SIGNATURE_HEADER, TransferRequest, sign
from simulator.bank.state import BankState, Booking, DueNotification

logger = logging.getLogger(__name__)

NOTIFY_PATH: Final = "/bank/notify"
TIMEOUT_MS: Final = 5_000
RETRY_INITIAL_MS: Final = 500
RETRY_MAX_MS: Final = 60_000
ATTEMPTS_MAX: Final = 2_000  # at a minute apart, about a day and a half of trying
IDLE_WAKE_MAX_S: Final = 60.0  # look at the schedule at least this often

ClockS = Callable[[], float]


class Notifier:
    """Delivers `state`'s pending notifications to the platform; `start`, then `close`."""

    def __init__(
        self,
        state: BankState,
        secret: bytes,
        *,
        timeout_ms: int = TIMEOUT_MS,
        retry_initial_ms: int = RETRY_INITIAL_MS,
        retry_max_ms: int = RETRY_MAX_MS,
        attempts_max: int = ATTEMPTS_MAX,
        clock_s: ClockS = time.time,
    ) -> None:
        assert 0 < retry_initial_ms <= retry_max_ms, (retry_initial_ms, retry_max_ms)
        assert timeout_ms > 0, timeout_ms
        assert attempts_max > 0, attempts_max
        self.faults = FaultConfig()
        self._state = state
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_ms / 1000)
        self._retry_initial_ms = retry_initial_ms
        self._retry_max_ms = retry_max_ms
        self._attempts_max = attempts_max
        self._clock_s = clock_s
        self._wake = asyncio.Event()
        self._url: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self, platform_url: str) -> None:
        """Begin delivering to `platform_url` + `/bank/notify` (what is pending goes first)."""
        assert self._task is None, "the notifier is already started"
        self._url = platform_url.rstrip("/") + NOTIFY_PATH
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        self._task = asyncio.create_task(self._run(), name="bank-notifier")

    def book(self, request: TransferRequest) -> Booking:
        """Book `request` and owe the platform its notification, held back by the faults'
        `delay_ms`; a replayed request owes nothing new. `RequestConflictError` as `book`."""
        booking = self._state.book(request)
        if not booking.replayed:
            delay_ms = self.faults.delay_ms
            if delay_ms:
                txn_id = booking.transfer.txn_id
                self._state.postpone(txn_id, self._state.now() + timedelta(milliseconds=delay_ms))
            self.wake()
        return booking

    def wake(self) -> None:
        """Something new is due: look at the schedule now."""
        self._wake.set()

    async def close(self) -> None:
        """Stop delivering; what is pending stays stored for the next start."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt (1-based), capped."""
        wait_ms = min(self._retry_initial_ms * 2 ** min(attempts - 1, 32), self._retry_max_ms)
        return timedelta(milliseconds=wait_ms)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                for due in self._state.due():
                    await self._deliver(due)
                next_at = self._state.next_due_at()
            except Exception:  # a broken file or a bug: log, and try again later
                logger.exception("bank notifier: a round failed")
                next_at = None
            wait_s = IDLE_WAKE_MAX_S
            if next_at is not None:
                wait_s = min(wait_s, max(0.0, (next_at - self._state.now()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait_s)

    async def _deliver(self, due: DueNotification) -> None:
        status = await self._post(due.body)
        if status.startswith("2"):
            self._state.delivered(due.txn_id, status)
            logger.info("bank notification %s delivered (HTTP %s)", due.txn_id, status)
            for _ in range(self.faults.duplicate_deliveries):
                duplicate = await self._post(due.body)
                logger.info("bank notification %s sent again (fault): %s", due.txn_id, duplicate)
            return
        attempts = due.attempts + 1
        retry = self.backoff(attempts) if attempts < self._attempts_max else None
        self._state.failed(due.txn_id, status, retry)
        if retry is None:
            logger.error("bank notification %s abandoned after %d attempts", due.txn_id, attempts)
        else:
            logger.warning(
                "bank notification %s attempt %d failed (%s); next in %s",
                due.txn_id,
                attempts,
                status,
                retry,
            )

    async def _post(self, body: bytes) -> str:
        """POST one notification; the HTTP status, or the name of the transport error."""
        assert self._session is not None, "the notifier is not started"
        assert self._url is not None
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, body, int(self._clock_s())),
        }
        try:
            async with self._session.post(self._url, data=body, headers=headers) as response:
                await response.read()
                return str(response.status)
        except (TimeoutError, aiohttp.ClientError) as error:
            return type(error).__name__
