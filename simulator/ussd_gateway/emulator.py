"""A USSD gateway, as the platform sees one over HTTP: for tests, benchmarks and the terminal
simulator.

    async with UssdGatewayEmulator(f"{platform}/ussd/callback", "json", secret=b"k") as gw:
        session = await gw.dial("13800000003", "*123*1#")
        session.page          # Page(text="请输入充值号码", end=False)
        page = await session.reply("13900000001")
        await session.abort()

It generates the session ids, keeps the cumulative `text` for the Africa's Talking form (or
sends only the latest input with an operation and a sequence in the JSON profile), and signs
each request when given the shared secret. It uses the profiles' sans-IO codecs, never the
platform's internals.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Final

import aiohttp

from channels.ussd.profiles import PROFILES, africastalking, json_gateway
from channels.ussd.signature import SIGNATURE_HEADER, sign
from channels.ussd.turn import parse_dialled
from simulator.ussd_gateway.events import CallbackFailed, EventBus, Exchanged, Operation

request_timeout_s: Final = 15  # Africa's Talking waits about this long for an answer


@dataclass(frozen=True, slots=True)
class Page:
    """What the handset shows: the text, and whether the session ended with it."""

    text: str
    end: bool


class SessionEnded(Exception):
    """The session is over: no more replies."""


class UssdGatewayEmulator:
    def __init__(
        self,
        url: str,
        profile: str = africastalking.NAME,
        secret: bytes | str | None = None,
        *,
        network_code: str = "46000",
        clock_s: Callable[[], float] = time.time,
        connections_max: int = 100,
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
        self.url = url
        self.profile = profile
        self._secret = secret.encode() if isinstance(secret, str) else (secret or b"")
        self._network_code = network_code
        self._clock_s = clock_s
        self._connections_max = connections_max
        self._http: aiohttp.ClientSession | None = None
        self._prefix = secrets.token_hex(4)
        self.events = EventBus()  # what the terminal UI's USSD console shows
        self._ids = itertools.count(1)

    async def __aenter__(self) -> UssdGatewayEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        if self._http is None:
            connector = aiohttp.TCPConnector(limit=self._connections_max)
            timeout = aiohttp.ClientTimeout(total=request_timeout_s)
            self._http = aiohttp.ClientSession(connector=connector, timeout=timeout)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def new_session_id(self) -> str:
        return f"emu-{self._prefix}-{next(self._ids)}"

    async def post(self, body: bytes, content_type: str) -> tuple[int, bytes]:
        """One raw callback, signed when the emulator has a secret: (status, body)."""
        await self.start()
        assert self._http is not None
        headers = {"Content-Type": content_type}
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(self._secret, body, self._clock_s())
        async with self._http.post(self.url, data=body, headers=headers) as response:
            return response.status, await response.read()

    async def dial(
        self, msisdn: str, ussd_string: str, *, session_id: str | None = None
    ) -> Session:
        """Open a session as `msisdn` dialling `ussd_string` (shortcuts allowed)."""
        session = Session(self, session_id or self.new_session_id(), msisdn, ussd_string)
        await session._begin()
        return session


class Session:
    """One USSD session through the emulator; `page` is the last page received."""

    def __init__(
        self, gateway: UssdGatewayEmulator, session_id: str, msisdn: str, dialled: str
    ) -> None:
        self.gateway = gateway
        self.session_id = session_id
        self.msisdn = msisdn
        self.dialled = dialled
        self.service_code, shortcuts = parse_dialled(dialled)
        self.inputs: list[str] = list(shortcuts)  # every input so far, shortcuts first
        self.sequence = 0
        self.page = Page("", end=False)
        self._last: tuple[bytes, str] | None = None

    @property
    def ended(self) -> bool:
        return self.page.end

    def _encode(self, operation: str, value: str = "") -> tuple[bytes, str]:
        if self.gateway.profile == africastalking.NAME:
            text = "*".join(self.inputs)
            return africastalking.encode_request(
                self.session_id, self.msisdn, self.service_code, text
            )
        self.sequence += 1
        service_code = self.dialled if operation == "begin" else self.service_code
        return json_gateway.encode_request(
            self.session_id, self.msisdn, service_code, operation, value, self.sequence
        )

    async def _send(self, request: tuple[bytes, str], operation: Operation, sent: str) -> Page:
        self._last = request
        events = self.gateway.events
        started = time.perf_counter()
        try:
            status, body = await self.gateway.post(*request)
            text, end = PROFILES[self.gateway.profile].decode_reply(status, body)
        except Exception as exc:
            if events.active:
                error = str(exc) or type(exc).__name__
                events.publish(CallbackFailed(self.session_id, self.msisdn, operation, sent, error))
            raise
        self.page = Page(text, end)
        if events.active:
            ms = (time.perf_counter() - started) * 1000
            events.publish(
                Exchanged(self.session_id, self.msisdn, operation, sent, status, text, end, ms)
            )
        return self.page

    async def _begin(self) -> Page:
        return await self._send(self._encode("begin"), "begin", self.dialled)

    async def reply(self, text: str) -> Page:
        """Send what the user typed; answers the next page."""
        if self.ended:
            raise SessionEnded(f"session {self.session_id} has ended")
        self.inputs.append(text)
        return await self._send(self._encode("continue", text), "continue", text)

    async def resend(self) -> Page:
        """Send the last request again, as a gateway that timed out retries it."""
        assert self._last is not None, "nothing sent yet"
        return await self._send(self._last, "retry", "")

    async def abort(self) -> None:
        """The user leaves. The JSON gateway tells the platform; the Africa's Talking form
        has no such callback (the platform's session simply times out)."""
        if self.ended:
            return
        if self.gateway.profile == json_gateway.NAME:
            await self._send(self._encode("abort"), "abort", "")
        self.page = Page(self.page.text, end=True)
