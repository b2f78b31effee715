"""The USSD channel's HTTP transport: `POST /ussd/callback` for the gateway, in the configured
profile (the Africa's Talking form by default, or the JSON gateway).

Checks, in this order and each before anything runs: the source address is allow-listed
(403); when a shared secret is configured, the signature is good and fresh (401); the body
parses in the profile (400, the gateway's fault, with the reason). A failure of ours answers
an END with the "service busy" text so the handset is never left hanging.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType

from aiohttp import web

from channels.access import Network, allowed
from channels.ussd.profiles import DEFAULT_PROFILE, PROFILES, Reply
from channels.ussd.service import UssdService
from channels.ussd.signature import SIGNATURE_HEADER, signature_tolerance_s, verify_signature
from channels.ussd.turn import UssdProtocolError
from dialogs.catalogue import Catalogue
from dialogs.events import Message

log = logging.getLogger(__name__)

ClockS = Callable[[], float]


@dataclass(frozen=True, slots=True)
class UssdHttpSettings:
    service: UssdService
    gateways: tuple[Network, ...]
    catalogue: Catalogue
    language: str
    profile: ModuleType
    secret: bytes  # empty: no signature required
    tolerance_s: int
    clock_s: ClockS


USSD_HTTP = web.AppKey("ussd_http", UssdHttpSettings)


def _response(reply: Reply) -> web.Response:
    return web.Response(
        body=reply.body, status=reply.status, headers={"Content-Type": reply.content_type}
    )


async def ussd_callback(request: web.Request) -> web.Response:
    settings = request.app[USSD_HTTP]
    profile = settings.profile
    if not allowed(request.remote, settings.gateways):
        log.warning("ussd callback refused from %s: not an allowed gateway", request.remote)
        return _response(profile.render_error(403, "not an allowed USSD gateway"))
    body = await request.read()
    try:
        if settings.secret:
            header = request.headers.get(SIGNATURE_HEADER)
            now_s = settings.clock_s()
            verify_signature(settings.secret, header, body, now_s, settings.tolerance_s)
        turn = profile.parse_request(body)
    except UssdProtocolError as exc:
        log.warning("ussd callback from %s rejected: %s", request.remote, exc)
        return _response(profile.render_error(exc.http_status, str(exc)))
    try:
        page = await settings.service.handle_turn(turn)
    except UssdProtocolError as exc:
        log.warning("ussd callback from %s rejected: %s", request.remote, exc)
        return _response(profile.render_error(exc.http_status, str(exc)))
    except Exception:
        log.exception("ussd callback failed")
        busy = settings.catalogue.text(settings.language, Message("common.service_unavailable"))
        return _response(profile.render_reply(turn, busy, True))
    return _response(profile.render_reply(turn, page.text, page.end))


def add_ussd_routes(
    app: web.Application,
    service: UssdService,
    gateways: Sequence[Network],
    catalogue: Catalogue,
    language: str,
    *,
    profile: str = DEFAULT_PROFILE,
    secret: bytes = b"",
    tolerance_s: int = signature_tolerance_s,
    clock_s: ClockS = time.time,
) -> None:
    """Serve `POST /ussd/callback` in `profile`; a non-empty `secret` requires signatures."""
    assert profile in PROFILES, profile
    assert tolerance_s > 0, tolerance_s
    app[USSD_HTTP] = UssdHttpSettings(
        service,
        tuple(gateways),
        catalogue,
        language,
        PROFILES[profile],
        secret,
        tolerance_s,
        clock_s,
    )
    app.router.add_post("/ussd/callback", ussd_callback)
