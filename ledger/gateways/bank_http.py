"""HTTP adapters of the bank gateway: the platform's `POST /bank/notify` handler, and the
client that fetches a day's statement from the bank (as the bank emulator speaks it).

`/bank/notify` checks, in this order and each before anything is written: the source address
is allow-listed (403), the signature is good and fresh (401), the body is well formed (400,
naming the field). Then the depositor runs: 200 `{"status": "credited" | "suspense" |
"duplicate", "ref"}` — a redelivery answers 200 too, so the bank stops — or 409
`{"error": "conflict"}` for the same txn id with other content. A ledger or database failure
answers 503, so the bank tries again later.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Sequence
from datetime import date

import aiohttp
from aiohttp import web

from ledger.errors import LedgerError
from ledger.gateways.bank import (
    SIGNATURE_HEADER,
    BankUnavailable,
    Depositor,
    NotificationRefused,
    SourceRefused,
    StatementLine,
    body_bytes_max,
    parse_notification,
    parse_statement,
    verify_signature,
)

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
ClockS = Callable[[], float]


class _NotifySettings:
    __slots__ = ("clock_s", "depositor", "networks", "secret", "tolerance_s")

    def __init__(
        self,
        depositor: Depositor,
        secret: bytes,
        networks: tuple[Network, ...],
        tolerance_s: int,
        clock_s: ClockS,
    ) -> None:
        self.depositor = depositor
        self.secret = secret
        self.networks = networks
        self.tolerance_s = tolerance_s
        self.clock_s = clock_s


BANK_NOTIFY = web.AppKey("bank_notify", _NotifySettings)


def add_bank_notify_route(
    app: web.Application,
    depositor: Depositor,
    secret: bytes,
    allowed: Sequence[Network],
    tolerance_s: int,
    clock_s: ClockS = time.time,
) -> None:
    """Serve `POST /bank/notify` on `app`, handing good notifications to `depositor`."""
    assert secret, "the bank's shared secret must not be empty"
    assert tolerance_s > 0, tolerance_s
    app[BANK_NOTIFY] = _NotifySettings(depositor, secret, tuple(allowed), tolerance_s, clock_s)
    app.router.add_post("/bank/notify", bank_notify)


async def bank_notify(request: web.Request) -> web.Response:
    settings = request.app[BANK_NOTIFY]
    try:
        if not _allowed(request.remote, settings.networks):
            raise SourceRefused(f"{request.remote} is not an allowed bank address")
        if request.content_length is not None and request.content_length > body_bytes_max:
            raise NotificationRefused(f"the body is longer than {body_bytes_max} bytes")
        body = await request.read()  # aiohttp caps it (client_max_size); parsing at 16 KiB
        header = request.headers.get(SIGNATURE_HEADER)
        verify_signature(settings.secret, header, body, settings.clock_s(), settings.tolerance_s)
        notification = parse_notification(body)
    except NotificationRefused as exc:
        log.warning("bank notification from %s refused: %s", request.remote, exc)
        return web.json_response({"error": str(exc)}, status=exc.http_status)
    try:
        receipt = await settings.depositor(notification)
    except LedgerError as exc:
        log.error("bank notification %s not applied: %s", notification.txn_id, exc)
        return web.json_response({"error": "unavailable, try again later"}, status=503)
    answer = {"status": receipt.verdict, "txn_id": notification.txn_id, "ref": receipt.ref}
    if receipt.verdict == "conflict":
        answer = {"error": "conflict", "txn_id": notification.txn_id, "ref": receipt.ref}
        return web.json_response(answer, status=409)
    return web.json_response(answer)


def _allowed(remote: str | None, networks: Sequence[Network]) -> bool:
    if remote is None:
        return False
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    return any(address in network for network in networks)


class HttpBankGateway:
    """Fetches statements: `GET {base}/bank/statement?date=YYYY-MM-DD` (CSV)."""

    def __init__(self, base_url: str, timeout_ms: int) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_ms / 1000)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def statement(self, day: date) -> tuple[StatementLine, ...]:
        if self._session is None:
            raise RuntimeError("HttpBankGateway.start() was not called")
        url = f"{self._base_url}/bank/statement"
        try:
            async with self._session.get(url, params={"date": day.isoformat()}) as response:
                status = response.status
                text = await response.text(encoding="utf-8")
        except (TimeoutError, aiohttp.ClientError, UnicodeDecodeError) as exc:
            raise BankUnavailable(f"statement of {day}: {type(exc).__name__}") from exc
        if status != 200:
            raise BankUnavailable(f"statement of {day}: HTTP {status}")
        return parse_statement(text)
