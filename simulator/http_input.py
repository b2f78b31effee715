"""What every emulator's HTTP API does with input the caller got wrong: a JSON body that is
not JSON, or a field that does not parse (`InvalidInputError`), is answered 400 with the
message naming the field, and nothing is applied."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from simulator.boss.validation import InvalidInputError


@web.middleware
async def invalid_input_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer input the caller got wrong with 400 and the message naming the field."""
    try:
        return await handler(request)
    except InvalidInputError as error:
        return web.json_response({"error": str(error)}, status=400)


async def json_body(request: web.Request) -> object:
    """The request's JSON body; anything else is the caller's mistake."""
    try:
        return await request.json()
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError alike
        raise InvalidInputError("the body must be JSON") from error


__all__ = ["invalid_input_middleware", "json_body"]
