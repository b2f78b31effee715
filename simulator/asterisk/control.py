"""The Asterisk emulator's HTTP control API: place a call for curl, scripts and the demo.

The platform never calls this: it is reached by the emulator over FastAGI only. This is the
side a person at `make run` uses to be a caller::

    POST /asterisk/calls   {"from": "13800000003", "keys": ["1", "13900000001#", "50#",
                            "333333", "1"], "language": "zh"}

`from` null or absent withholds the caller ID; `keys` are the
caller's presses in order, each answered to the next prompt that collects keys; `language`
is the channel's (`zh` or `en`, as the dialplan would set it); `path` the FastAGI entry
(`main`). The call runs unpaced (no waiting for prompts) and the answer is what the caller
heard, prompt by prompt, with how the call ended.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Final

from aiohttp import web

from simulator.asterisk.emulator import AsteriskEmulator
from simulator.asterisk.script import DTMF_KEYS, Press
from simulator.boss.validation import InvalidInputError, check_fields
from simulator.http_input import invalid_input_middleware, json_body

ASTERISK = web.AppKey("asterisk", AsteriskEmulator)
presses_max: Final = 50
press_keys_max: Final = 32
number_length_max: Final = 20
LANGUAGES: Final = ("zh", "en")
_dumps: Final = functools.partial(json.dumps, ensure_ascii=False)  # Chinese readable in curl


def _caller(body: dict[str, Any]) -> str | None:
    value = body.get("from")
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value.strip()) <= number_length_max:
        raise InvalidInputError("from must be a number (or null: caller ID withheld)")
    return value.strip()


def _presses(value: object) -> list[Press]:
    if not isinstance(value, list) or len(value) > presses_max:
        raise InvalidInputError(f"keys must be a list of at most {presses_max} presses")
    presses = []
    for keys in value:
        if not isinstance(keys, str) or not 0 < len(keys) <= press_keys_max:
            raise InvalidInputError(f"each press is 1..{press_keys_max} keys of {DTMF_KEYS}")
        try:
            presses.append(Press(keys))
        except ValueError as error:
            raise InvalidInputError(str(error)) from error
    return presses


async def place_call(request: web.Request) -> web.Response:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidInputError("the body must be a JSON object")
    check_fields(body, required=("keys",), optional=("from", "language", "path"))
    language = body.get("language", "zh")
    if language not in LANGUAGES:
        raise InvalidInputError(f"language must be one of {list(LANGUAGES)}")
    path = body.get("path", "main")
    if not isinstance(path, str) or not path.isidentifier():
        raise InvalidInputError("path must be an entry name such as main")
    emulator = request.app[ASTERISK]
    record = await emulator.place_call(path, _caller(body), language, _presses(body["keys"]))
    answer = {
        "call": record.call_id,
        "ending": record.ending.value if record.ending else None,
        "error": record.error or None,
        "heard": [text for text in record.texts if text],  # not the silence GET DATA plays
        "keys": record.keys,
        "lost_keys": record.lost_keys,
        "commands": len(record.commands),
    }
    return web.json_response(answer, dumps=_dumps)


def create_control_app(emulator: AsteriskEmulator) -> web.Application:
    app = web.Application(middlewares=[invalid_input_middleware])
    app[ASTERISK] = emulator
    app.router.add_post("/asterisk/calls", place_call)
    return app


__all__ = ["create_control_app"]
