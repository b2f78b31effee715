"""A WAP gateway, as the platform and a handset see one: an HTTP proxy in front of the
platform's `/wap/` that tells the platform who is browsing, the way an operator's gateway does.

    async with WapGateway("http://127.0.0.1:8080") as gateway:
        bearer = await gateway.attach("13800000003")
        bearer.home            # http://127.0.0.1:41234/wap/ : any browser, Chromium too
        gateway.enrich = False # a gateway without header enrichment, for demos and tests
        await gateway.detach("13800000003")

How the gateway knows the number: on a real network the handset's data session (its PDP
context) carries the subscriber's identity to the gateway; here each attached handset gets its
own loopback listener, its bearer, so whatever arrives on that port is that handset's traffic.
That works for any browser unchanged (no proxy settings, no cookies, no query parameters).

What it does to a request, as operator gateways do:
- Adds the subscriber's number, as attached, in `X-MSISDN` (WAP 2.0 gateways) and
  `X-Up-Calling-Line-Id` (WAP 1.x, Openwave style) — or the headers chosen — unless `enrich`
  is off.
- Strips every header a handset could use to claim a number (`SPOOFABLE_HEADERS`): the
  request is rebuilt from a short list of headers (`FORWARDED_HEADERS`), so nothing else a
  handset sends reaches the platform; the number headers it did send are named in the event.
- Adds `Via` (RFC 9110: a proxy says so).
It carries only the service's pages (`path_prefix`, `/wap/`, with no `.` or `..` segment
that could climb out of it); `/` redirects there, anything else is the gateway's own 404.
Redirects are passed back, not followed, with a `Location` at the platform rewritten to the
handset's bearer, so the next request comes through the gateway too. When the platform is down,
slow or answers a page too large for a handset, the handset gets the gateway's own error page
(502 or 504) in its format and language (`pages.py`).

Cookies pass through untouched (`Cookie` forwarded, `Set-Cookie` returned); the gateway's own
client keeps none, so handsets never share them.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Final

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from simulator.masking import mask_pins
from simulator.wap_gateway.events import (
    Attached,
    Detached,
    EventBus,
    Forwarded,
    ForwardFailed,
)
from simulator.wap_gateway.pages import Problem, error_page

MSISDN_HEADER: Final = "X-MSISDN"
UP_CALLING_LINE_ID_HEADER: Final = "X-Up-Calling-Line-Id"
ENRICHMENT_HEADERS: Final = (MSISDN_HEADER, UP_CALLING_LINE_ID_HEADER)
# Number headers gateways of various makes add; none of them may come from a handset.
SPOOFABLE_HEADERS: Final = frozenset(
    {
        "x-msisdn",
        "x-up-calling-line-id",
        "x-up-subno",
        "x-nokia-msisdn",
        "x-wap-msisdn",
        "x-wap-network-client-msisdn",
        "x-h3g-msisdn",
        "msisdn",
    }
)
# What a handset's request keeps on its way to the platform; everything else is dropped.
FORWARDED_HEADERS: Final = (
    "Accept",
    "Accept-Charset",
    "Accept-Language",
    "Content-Type",
    "Cookie",
    "User-Agent",
)
# What the platform's answer keeps on its way back (Location is rewritten, see above).
RETURNED_HEADERS: Final = ("Cache-Control", "Expires", "Set-Cookie")
VIA: Final = "1.1 aircharge-wap-gateway"
PATH_PREFIX: Final = "/wap/"

request_timeout_s: Final = 30.0  # a handset's browser gives up about then
request_body_bytes_max: Final = 64 * 1024  # a handset's form is a few hundred bytes
response_body_bytes_max: Final = 512 * 1024  # far above a WAP deck; a runaway page is refused
bearers_max: Final = 1_000  # handsets attached at once (one loopback listener each)
connections_max: Final = 100  # to the platform, shared by every handset


class GatewayError(Exception):
    """The gateway was used wrongly (too many handsets attached, not started)."""


@dataclass(frozen=True, slots=True)
class Bearer:
    """A handset's way in: its own listener on the gateway."""

    msisdn: str
    host: str
    port: int
    path_prefix: str = PATH_PREFIX

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def home(self) -> str:
        """The service's first page through this bearer."""
        return f"{self.url}{self.path_prefix}"


@dataclass(frozen=True, slots=True)
class _Listening:
    bearer: Bearer
    runner: web.AppRunner


class _TooLarge(Exception):
    pass


class WapGateway:
    """The gateway in front of the platform at `target` (its HTTP origin, no path)."""

    def __init__(
        self,
        target: str,
        *,
        host: str = "127.0.0.1",
        enrich: bool = True,
        headers: Sequence[str] = ENRICHMENT_HEADERS,
        path_prefix: str = PATH_PREFIX,
        timeout_s: float = request_timeout_s,
    ) -> None:
        origin = URL(target)
        if not origin.is_absolute() or origin.path not in ("", "/"):
            raise ValueError(f"the gateway's target is the platform's origin, got {target!r}")
        if not (path_prefix.startswith("/") and path_prefix.endswith("/")):
            raise ValueError(f"the path prefix starts and ends with '/', got {path_prefix!r}")
        self.target = origin.origin()
        self.host = host
        self.enrich = enrich  # switch off: the platform must ask for number and PIN
        self.headers = tuple(headers)
        self.path_prefix = path_prefix
        self._timeout_s = timeout_s
        self._http: aiohttp.ClientSession | None = None
        self._bearers: dict[str, _Listening] = {}
        self.events = EventBus()  # what the terminal UI shows

    async def __aenter__(self) -> WapGateway:
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
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=connections_max),
                timeout=aiohttp.ClientTimeout(total=self._timeout_s),
                cookie_jar=aiohttp.DummyCookieJar(),  # handsets keep their own cookies
                auto_decompress=True,
            )

    async def close(self) -> None:
        """Detach every handset and close the client."""
        for msisdn in list(self._bearers):
            await self.detach(msisdn)
        if self._http is not None:
            await self._http.close()
            self._http = None

    @property
    def bearers(self) -> Mapping[str, Bearer]:
        """The attached handsets, by number."""
        return {msisdn: listening.bearer for msisdn, listening in self._bearers.items()}

    async def attach(self, msisdn: str) -> Bearer:
        """Bring up `msisdn`'s bearer (a listener on a free port); the same one if it is up."""
        if msisdn in self._bearers:
            return self._bearers[msisdn].bearer
        if not msisdn:
            raise ValueError("a handset needs a number to attach")
        if len(self._bearers) >= bearers_max:
            raise GatewayError(f"{bearers_max} handsets attached already; detach one first")
        await self.start()
        bearer, runner = await self._listen(msisdn)
        self._bearers[msisdn] = _Listening(bearer, runner)
        if self.events.active:
            self.events.publish(Attached(msisdn, bearer.url))
        return bearer

    async def detach(self, msisdn: str) -> None:
        """Take `msisdn`'s bearer down (nothing if it is not attached)."""
        listening = self._bearers.pop(msisdn, None)
        if listening is None:
            return
        await listening.runner.cleanup()
        if self.events.active:
            self.events.publish(Detached(msisdn))

    async def _listen(self, msisdn: str) -> tuple[Bearer, web.AppRunner]:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.bind((self.host, 0))
        except OSError:
            sock.close()
            raise
        bearer = Bearer(msisdn, self.host, sock.getsockname()[1], self.path_prefix)
        app = web.Application(client_max_size=request_body_bytes_max)
        app[_GATEWAY] = self
        app[_BEARER] = bearer
        app.router.add_route("*", "/{tail:.*}", _handle)
        runner = web.AppRunner(app, access_log=None)
        try:
            await runner.setup()
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        return bearer, runner

    def _request_headers(self, request: web.Request, msisdn: str) -> CIMultiDict[str]:
        headers: CIMultiDict[str] = CIMultiDict()
        for name in FORWARDED_HEADERS:
            for value in request.headers.getall(name, ()):
                headers.add(name, value)
        via = request.headers.get("Via")
        headers["Via"] = f"{via}, {VIA}" if via else VIA
        if self.enrich:
            for name in self.headers:
                headers[name] = msisdn
        return headers

    async def _forward(self, request: web.Request, bearer: Bearer) -> web.StreamResponse:
        path = request.path
        if path in ("", "/"):
            raise web.HTTPFound(self.path_prefix)
        outside = not (path + "/").startswith(self.path_prefix)
        if outside or any(segment in (".", "..") for segment in path.split("/")):
            return self._error(request, bearer, "not_here", 404, "outside the service's pages")
        assert self._http is not None, "the gateway is closed"
        stripped = tuple(name for name in request.headers if name.lower() in SPOOFABLE_HEADERS)
        headers = self._request_headers(request, bearer.msisdn)
        skip = [name for name in ("User-Agent", "Content-Type") if name not in headers]
        body = await request.read()
        started = time.perf_counter()
        try:
            async with self._http.request(
                request.method,
                URL(f"{self.target}{request.raw_path}", encoded=True),  # as the handset wrote it
                data=body or None,
                headers=headers,
                skip_auto_headers=skip,
                allow_redirects=False,
            ) as response:
                answer = await _read_limited(response)
                status = response.status
                content_type = response.headers.get("Content-Type", "")
                returned = self._response_headers(response, bearer)
        except _TooLarge:
            return self._error(request, bearer, "too_large", 502, "the page is too large")
        except TimeoutError:
            return self._error(request, bearer, "timeout", 504, "no answer in time")
        except aiohttp.ClientError as exc:
            return self._error(request, bearer, "unreachable", 502, str(exc) or type(exc).__name__)
        if self.events.active:
            ms = (time.perf_counter() - started) * 1000
            shown = mask_pins(request.path_qs)
            event = Forwarded(
                bearer.msisdn,
                request.method,
                shown,
                status,
                content_type,
                self.enrich,
                stripped,
                ms,
            )
            self.events.publish(event)
        return web.Response(status=status, body=answer, headers=returned)

    def _response_headers(
        self, response: aiohttp.ClientResponse, bearer: Bearer
    ) -> CIMultiDict[str]:
        headers: CIMultiDict[str] = CIMultiDict()
        content_type = response.headers.get("Content-Type")
        if content_type is not None:
            headers["Content-Type"] = content_type
        for name in RETURNED_HEADERS:
            for value in response.headers.getall(name, ()):
                headers.add(name, value)
        location = response.headers.get("Location")
        if location is not None:
            headers["Location"] = self._rewrite_location(location, bearer)
        via = response.headers.get("Via")
        headers["Via"] = f"{via}, {VIA}" if via else VIA
        return headers

    def _rewrite_location(self, location: str, bearer: Bearer) -> str:
        """A redirect to the platform itself comes back through this handset's bearer; a
        relative one resolves against the bearer already; another site's is left alone."""
        try:
            url = URL(location)
        except ValueError:
            return location
        if url.is_absolute() and url.origin() == self.target:
            return str(URL(bearer.url).join(url.relative()))
        return location

    def _error(
        self, request: web.Request, bearer: Bearer, problem: Problem, status: int, why: str
    ) -> web.Response:
        page = error_page(
            problem,
            status,
            request.headers.get("Accept", ""),
            request.headers.get("Accept-Language", ""),
        )
        if self.events.active:
            shown = mask_pins(request.path_qs)
            self.events.publish(ForwardFailed(bearer.msisdn, request.method, shown, status, why))
        return web.Response(
            status=page.status,
            body=page.body,
            headers={"Content-Type": page.content_type, "Via": VIA},
        )


_GATEWAY: Final = web.AppKey("wap_gateway", WapGateway)
_BEARER: Final = web.AppKey("wap_bearer", Bearer)


async def _read_limited(response: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > response_body_bytes_max:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def _handle(request: web.Request) -> web.StreamResponse:
    return await request.app[_GATEWAY]._forward(request, request.app[_BEARER])


__all__ = [
    "ENRICHMENT_HEADERS",
    "FORWARDED_HEADERS",
    "MSISDN_HEADER",
    "PATH_PREFIX",
    "SPOOFABLE_HEADERS",
    "UP_CALLING_LINE_ID_HEADER",
    "Bearer",
    "GatewayError",
    "WapGateway",
]
