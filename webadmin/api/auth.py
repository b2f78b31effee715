"""Bearer-token authentication of `/api/v1` (RFC 6750, `Authorization: Bearer <token>`).

One shared token from the configuration (`secrets.api_token`): the API serves the
simulator's consoles, scripts and monitoring, not people, so there are no accounts to log
into. The comparison is constant-time over SHA-256 digests of both sides, so neither the
content nor the length of the token leaks through timing. The token never reaches a log:
refusals are logged with the caller's address and the reason only.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Final

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from webadmin.api.errors import Unauthorised

log = logging.getLogger(__name__)

SCHEME: Final = "bearer"  # compared case-insensitively (RFC 7235 §2.1)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def offered_token(authorization: str | None) -> str | None:
    """The credentials of a `Bearer` Authorization header, or None when there are none."""
    if authorization is None:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != SCHEME:
        return None
    return credentials.strip() or None


def bearer_middleware(token: str) -> Middleware:
    """Refuse every request that does not carry `token`; checked before routing answers, so
    an unauthenticated caller learns nothing, not even which paths exist."""
    if not token:
        raise ValueError("the API token must not be empty")
    expected = _digest(token)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        offered = offered_token(request.headers.get(hdrs.AUTHORIZATION))
        if offered is None:
            log.info("api: %s %s from %s refused: no bearer token", *_who(request))
            raise Unauthorised("a bearer token is required", offered=False)
        if not hmac.compare_digest(_digest(offered), expected):
            log.warning("api: %s %s from %s refused: wrong bearer token", *_who(request))
            raise Unauthorised("the bearer token is not valid", offered=True)
        return await handler(request)

    return middleware


def _who(request: web.Request) -> tuple[str, str, str | None]:
    return request.method, request.path, request.remote
