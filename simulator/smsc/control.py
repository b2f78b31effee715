"""The SMSC emulator's HTTP control API: handsets and faults for curl, scripts and the demo.

The platform never calls this: it reaches the emulator over SMPP only. This is the side a
tester (or a person at `make run`) uses to be a handset::

    POST /smsc/sms                        {"from": "13800000003", "text": "CZ …", "to": "1888"}
    GET  /smsc/handsets/{msisdn}/inbox    the MT the handset received, newest last
    POST /smsc/ussd                       {"msisdn": "13800000003", "dial": "*123#"} → first page
    POST /smsc/ussd/{session}             {"text": "1"} → next page; {"abort": true} hangs up
    PUT  /smsc/faults                     {"throttle_rate": 0.2, "seed": 7, …} (see Faults)
    GET  /smsc/faults

Numbers are taken as the handset would show them (`13800000003`); `to` defaults to the
service number. A page answer is `{"session": n, "text": "…", "end": false}`; a page that does
not come within `page_wait_s` is 504 (the platform is not bound, or too slow).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any, Final

from aiohttp import web

from simulator.boss.validation import InvalidInputError, check_fields
from simulator.http_input import invalid_input_middleware, json_body
from simulator.smsc.faults import Faults
from simulator.smsc.server import SERVICE_NUMBER, Smsc
from simulator.smsc.ussd import UssdSession

SMSC = web.AppKey("smsc", Smsc)
SESSIONS: web.AppKey[dict[int, UssdSession]] = web.AppKey("ussd_sessions")
page_wait_s: Final = 10.0
text_length_max: Final = 1_000  # characters in one MO (several concatenated parts)
address_length_max: Final = 20
_dumps: Final = functools.partial(json.dumps, ensure_ascii=False)  # Chinese readable in curl
sessions_kept_max: Final = 1_000  # USSD sessions opened over HTTP; ended ones go first


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)


def _address(value: object, field: str) -> str:
    if not isinstance(value, str) or not 0 < len(value.strip()) <= address_length_max:
        raise InvalidInputError(f"{field} must be a number or short code (1..20 characters)")
    return value.strip()


def _text(value: object, field: str = "text") -> str:
    if not isinstance(value, str) or len(value) > text_length_max:
        raise InvalidInputError(f"{field} must be text of at most {text_length_max} characters")
    return value


def _object(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInputError("the body must be a JSON object")
    return body


async def send_sms(request: web.Request) -> web.Response:
    body = _object(await json_body(request))
    check_fields(body, required=("from", "text"), optional=("to",))
    sender = _address(body["from"], "from")
    to = _address(body.get("to", SERVICE_NUMBER), "to")
    mo = request.app[SMSC].send_sms(sender, _text(body["text"]), to)
    return _json({"reference": mo.reference, "parts": mo.parts}, status=202)


async def inbox(request: web.Request) -> web.Response:
    handset = request.app[SMSC].handset(_address(request.match_info["msisdn"], "msisdn"))
    messages = [dataclasses.asdict(message) for message in handset.inbox]
    return _json({"received_total": handset.received_total, "messages": messages})


async def _page(session: UssdSession) -> web.Response:
    try:
        page = await session.next_page(page_wait_s)
    except TimeoutError:
        raise web.HTTPGatewayTimeout(text="no USSD page from the platform in time") from None
    return _json({"session": session.number, "text": page.text, "end": page.final})


async def dial(request: web.Request) -> web.Response:
    body = _object(await json_body(request))
    check_fields(body, required=("msisdn",), optional=("dial",))
    msisdn = _address(body["msisdn"], "msisdn")
    session = request.app[SMSC].dial(msisdn, _address(body.get("dial", "*123#"), "dial"))
    sessions = request.app[SESSIONS]
    if len(sessions) >= sessions_kept_max:
        for number in [n for n, kept in sessions.items() if not kept.open]:
            del sessions[number]
    sessions[session.number] = session
    return await _page(session)


async def answer(request: web.Request) -> web.Response:
    body = _object(await json_body(request))
    check_fields(body, required=(), optional=("text", "abort"))
    try:
        session = request.app[SESSIONS][int(request.match_info["session"])]
    except (KeyError, ValueError):
        raise web.HTTPNotFound(text="no such USSD session") from None
    if not session.open:
        raise web.HTTPConflict(text="the USSD session has ended")
    if body.get("abort") is True:
        session.abort()
        return _json({"session": session.number, "text": "", "end": True})
    session.reply(_text(body.get("text", "")))
    return await _page(session)


async def put_faults(request: web.Request) -> web.Response:
    body = _object(await json_body(request))
    names = tuple(field.name for field in dataclasses.fields(Faults))
    check_fields(body, required=(), optional=names)
    try:
        faults = Faults(**body)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(str(error)) from error
    request.app[SMSC].set_faults(faults)
    return _json(dataclasses.asdict(faults))


async def get_faults(request: web.Request) -> web.Response:
    return _json(dataclasses.asdict(request.app[SMSC].faults))


def create_control_app(smsc: Smsc) -> web.Application:
    app = web.Application(middlewares=[invalid_input_middleware])
    app[SMSC] = smsc
    app[SESSIONS] = {}
    app.router.add_post("/smsc/sms", send_sms)
    app.router.add_get("/smsc/handsets/{msisdn}/inbox", inbox)
    app.router.add_post("/smsc/ussd", dial)
    app.router.add_post("/smsc/ussd/{session}", answer)
    app.router.add_put("/smsc/faults", put_faults)
    app.router.add_get("/smsc/faults", get_faults)
    return app


__all__ = ["create_control_app"]
