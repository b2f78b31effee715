"""The USSD channel's HTTP transport: `POST /ussd/callback` for the gateway.

Only allow-listed gateway addresses may call; anything else is 403 and nothing runs. A
malformed form is 400 with the reason (the gateway's fault). A failure of ours answers
`END` with the "service busy" text so the handset is never left hanging.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence

from aiohttp import web

from channels.ussd.protocol import UssdProtocolError, format_reply, parse_callback
from channels.ussd.service import UssdService
from dialogs.catalogue import Catalogue
from dialogs.events import Message

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
USSD_SERVICE = web.AppKey("ussd_service", UssdService)
USSD_GATEWAYS: web.AppKey[tuple[Network, ...]] = web.AppKey("ussd_gateways")
USSD_CATALOGUE = web.AppKey("ussd_catalogue", Catalogue)
USSD_LANGUAGE = web.AppKey("ussd_language", str)


def _allowed(remote: str | None, networks: Sequence[Network]) -> bool:
    if remote is None:
        return False
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    return any(address in network for network in networks)


def _reply(text: str, *, end: bool, status: int = 200) -> web.Response:
    return web.Response(
        text=format_reply(text, end), status=status, content_type="text/plain", charset="utf-8"
    )


async def ussd_callback(request: web.Request) -> web.Response:
    app = request.app
    gateways: tuple[Network, ...] = app[USSD_GATEWAYS]
    if not _allowed(request.remote, gateways):
        log.warning("ussd callback refused from %s: not an allowed gateway", request.remote)
        return web.Response(status=403, text="forbidden: not an allowed USSD gateway")
    try:
        form = await request.post()
    except (UnicodeDecodeError, ValueError) as exc:
        log.warning("ussd callback from %s: malformed form (%s)", request.remote, exc)
        return web.Response(status=400, text="bad request: the body is not a form in UTF-8")
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    try:
        ussd_request = parse_callback(fields)
        page = await app[USSD_SERVICE].handle(ussd_request)
    except UssdProtocolError as exc:
        log.warning("ussd callback from %s rejected: %s", request.remote, exc)
        return web.Response(status=exc.http_status, text=f"bad request: {exc}")
    except Exception:
        log.exception("ussd callback failed")
        busy = app[USSD_CATALOGUE].text(app[USSD_LANGUAGE], Message("common.service_unavailable"))
        return _reply(busy, end=True)
    return _reply(page.text, end=page.end)


def add_ussd_routes(
    app: web.Application,
    service: UssdService,
    gateways: Sequence[Network],
    catalogue: Catalogue,
    language: str,
) -> None:
    app[USSD_SERVICE] = service
    app[USSD_GATEWAYS] = tuple(gateways)
    app[USSD_CATALOGUE] = catalogue
    app[USSD_LANGUAGE] = language
    app.router.add_post("/ussd/callback", ussd_callback)
