"""Every refusal of `/api/v1` as JSON: `{"error": code, "message": text}`.

Scripts and monitoring branch on `error` (a stable machine code); people read `message`.
A 400 also names the offending `parameter`, so a caller can tell which of several query
parameters was wrong without parsing prose. One middleware turns the typed errors below,
aiohttp's own 404/405 and anything unexpected into that shape; the unexpected is logged
with its traceback and answered without internals.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from functools import partial
from typing import Any, Final

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

log = logging.getLogger(__name__)

_dumps: Final = partial(json.dumps, ensure_ascii=False)
# Balances and numbers are nobody's to keep: no shared cache may store an answer.
_NO_STORE: Final[Mapping[str, str]] = {hdrs.CACHE_CONTROL: "no-store"}

# aiohttp's routing refusals, mapped to our codes.
_ROUTING_CODES: Final = {404: "not_found", 405: "method_not_allowed"}


class ApiError(Exception):
    """A refusal the caller can act on: HTTP status, machine code, human message."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message}

    def headers(self) -> dict[str, str]:
        return {}


class BadParameter(ApiError):
    """A query or path parameter is unknown, repeated or holds a value we cannot use."""

    status = 400
    code = "bad_parameter"

    def __init__(self, parameter: str, message: str, *, code: str | None = None) -> None:
        super().__init__(f"{parameter}: {message}", code=code)
        self.parameter = parameter

    def body(self) -> dict[str, Any]:
        return {**super().body(), "parameter": self.parameter}


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Unauthorised(ApiError):
    """No bearer token, or not the configured one (RFC 6750: 401 with a challenge)."""

    status = 401
    code = "unauthorized"

    def __init__(self, message: str, *, offered: bool) -> None:
        super().__init__(message)
        self.offered = offered

    def headers(self) -> dict[str, str]:
        challenge = 'Bearer realm="aircharge"'
        if self.offered:
            challenge += ', error="invalid_token"'
        return {hdrs.WWW_AUTHENTICATE: challenge}


def json_answer(
    body: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    merged: dict[str, str] = {**_NO_STORE, **(headers or {})}
    return web.json_response(body, status=status, headers=merged, dumps=_dumps)


def _refusal(error: ApiError) -> web.Response:
    return json_answer(error.body(), error.status, error.headers())


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return _refusal(error)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _ROUTING_CODES.get(exc.status, "http_error")
        headers: dict[str, str] = {}
        if hdrs.ALLOW in exc.headers:
            headers[hdrs.ALLOW] = exc.headers[hdrs.ALLOW]
        message = f"{request.method} {request.path}: {exc.reason.lower()}"
        return json_answer({"error": code, "message": message}, exc.status, headers)
    except Exception:
        log.exception("api: %s %s failed", request.method, request.path)
        body = {"error": "internal_error", "message": "the request failed on our side"}
        return json_answer(body, 500)
