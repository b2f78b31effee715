"""The WAP channel's HTTP transport: `GET /wap/` starts a session, `POST /wap/` answers a page.

Each request: the caller from the socket's peer and the number headers
(`channels.wap.identity`; headers from a peer outside `wap.allowed_gateways` are ignored,
counted and logged), the format from `Accept` (`channels.wap.negotiate`), then the service's
screen rendered by `dialogs.render.wap`, which escapes every text: nothing here writes markup
of its own. A POST is a form (`application/x-www-form-urlencoded`) of `session`, `token` and
`input`, at most `form_bytes_max` bytes; anything else is refused with the "page no longer
valid" screen and changes nothing.

Every answer is personal and most carry a one-time form, so none may be cached or reused:
`Cache-Control: no-store`, `Vary` on what chose the page, and headers that keep the XHTML
page from being framed, sniffed or given scripts, styles or images (`Content-Security-Policy:
default-src 'none'`; the pages use none).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl

from aiohttp import web

from channels.access import Network
from channels.wap.identity import CALLER_HEADERS, Caller, caller
from channels.wap.negotiate import Format, page_format, xhtml_media_type
from channels.wap.service import SESSION_FIELD, WAP_PATH, WapScreen, WapService
from dialogs.catalogue import Catalogue
from dialogs.events import End, Message
from dialogs.render.wap import INPUT_FIELD, TOKEN_FIELD, PageLink, render_wml, render_xhtml

log = logging.getLogger(__name__)

form_bytes_max: Final = 4096  # a WAP form is three short fields
form_fields_max: Final = 8
SECURITY_HEADERS: Final[Mapping[str, str]] = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Vary": ", ".join(("Accept", *CALLER_HEADERS)),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
}


@dataclass(frozen=True, slots=True)
class WapHttpSettings:
    service: WapService
    gateways: tuple[Network, ...]
    catalogue: Catalogue


WAP_HTTP = web.AppKey("wap_http", WapHttpSettings)


def _caller(request: web.Request, settings: WapHttpSettings) -> Caller:
    found = caller(request.headers, request.remote, settings.gateways)
    counters = settings.service.counters
    if found.verdict == "trusted":
        counters.add("header_trusted")
    elif found.verdict == "untrusted":
        counters.add("header_untrusted")
        log.warning(
            "wap: caller-number header from %s ignored: not an allowed WAP gateway", found.peer
        )
    elif found.verdict == "invalid":
        counters.add("header_invalid")
        log.warning("wap: caller-number header from gateway %s is not one number", found.peer)
    return found


def _response(
    settings: WapHttpSettings, screen: WapScreen, page: Format, accept: str | None
) -> web.Response:
    render = render_wml if page == "wml" else render_xhtml
    rendered = render(screen.event, settings.catalogue, screen.language, screen.form, screen.link)
    settings.service.counters.add(f"page_{page}")
    content_type = rendered.content_type
    if page == "xhtml":
        content_type = f"{xhtml_media_type(accept)}; charset=utf-8"
    return web.Response(
        body=rendered.body.encode("utf-8"),
        status=screen.status,
        headers={"Content-Type": content_type, **SECURITY_HEADERS},
    )


def _failure(settings: WapHttpSettings, status: int, key: str) -> WapScreen:
    language = settings.service.default_language
    return WapScreen(
        End(Message(key)), language, None, PageLink(WAP_PATH, Message("wap.again")), status
    )


async def wap_start(request: web.Request) -> web.Response:
    settings = request.app[WAP_HTTP]
    accept = request.headers.get("Accept")
    page = page_format(accept)
    try:
        screen = await settings.service.start(_caller(request, settings))
    except Exception:
        log.exception("wap: starting a session failed")
        settings.service.counters.add("failed")
        screen = _failure(settings, 503, "common.service_unavailable")
    return _response(settings, screen, page, accept)


async def _form(request: web.Request) -> Mapping[str, str] | None:
    """The posted fields, or None for anything but a small urlencoded UTF-8 form."""
    if request.content_type != "application/x-www-form-urlencoded":
        return None
    if request.content_length is not None and request.content_length > form_bytes_max:
        return None
    body = bytearray()
    while chunk := await request.content.read(form_bytes_max + 1 - len(body)):
        body += chunk
    if len(body) > form_bytes_max:
        return None
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=form_fields_max
        )
    except ValueError:  # not UTF-8, or too many fields
        return None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:  # a field twice is not a form of ours
            return None
        fields[name] = value
    return fields


async def wap_answer(request: web.Request) -> web.Response:
    settings = request.app[WAP_HTTP]
    accept = request.headers.get("Accept")
    page = page_format(accept)
    who = _caller(request, settings)
    fields = await _form(request)
    if fields is None or SESSION_FIELD not in fields or TOKEN_FIELD not in fields:
        settings.service.counters.add("bad_request")
        log.warning("wap: a POST from %s that is not one of our forms refused", who.peer)
        return _response(settings, _failure(settings, 400, "wap.form_refused"), page, accept)
    try:
        screen = await settings.service.answer(
            who, fields[SESSION_FIELD], fields[TOKEN_FIELD], fields.get(INPUT_FIELD, "")
        )
    except Exception:
        log.exception("wap: answering a page failed")
        settings.service.counters.add("failed")
        screen = _failure(settings, 503, "common.service_unavailable")
    return _response(settings, screen, page, accept)


def add_wap_routes(
    app: web.Application,
    service: WapService,
    gateways: Sequence[Network],
    catalogue: Catalogue,
) -> None:
    """Serve `GET`/`POST /wap/`; number headers are believed only from `gateways`."""
    app[WAP_HTTP] = WapHttpSettings(service, tuple(gateways), catalogue)
    app.router.add_get(WAP_PATH, wap_start, allow_head=False)  # a HEAD opens no session
    app.router.add_post(WAP_PATH, wap_answer)


__all__ = ["SECURITY_HEADERS", "WAP_HTTP", "add_wap_routes", "form_bytes_max"]
