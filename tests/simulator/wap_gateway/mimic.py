"""A small stand-in for the platform's `/wap/` channel, for the gateway and browser tests: the
real flows run by the dialog engine, rendered by `dialogs.render.wap` (WML when `Accept` asks
for it, XHTML-MP otherwise), a one-time token per form; and a few routes that show what the
gateway forwarded (`/wap/echo`), redirect, answer slowly, or answer too much.

GET /wap/ starts the agent menu in the language of `Accept-Language`; POST /wap/ takes
`session`, `token` and `input`. Operations are not run: each succeeds with made-up values.
A spent or unknown token answers 403 with no page change (a replay does nothing).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field

from aiohttp import web

from dialogs.catalogue import Catalogue
from dialogs.engine import Engine, SessionState
from dialogs.events import Ask, End, Event, RunOperation, Value
from dialogs.flow import load_flows
from dialogs.render.wap import FormTarget, render_wml, render_xhtml

CATALOGUE = Catalogue.load()
ENGINE = Engine(load_flows())
OUTCOME_VALUES: dict[str, Value] = {"ref": "R1", "balance_fen": 95_000, "deposit_fen": 95_000}


@dataclass
class Received:
    """What reached the platform through the gateway."""

    method: str
    path_qs: str
    headers: dict[str, list[str]]
    body: bytes


@dataclass
class Mimic:
    sessions: dict[str, SessionState] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> session, spent once
    received: list[Received] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)  # what the forms posted as `input`
    operations: list[RunOperation] = field(default_factory=list)
    slow_s: float = 5.0


MIMIC = web.AppKey("mimic", Mimic)


def _record(request: web.Request, body: bytes) -> None:
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    request.app[MIMIC].received.append(Received(request.method, request.raw_path, headers, body))


def _language(request: web.Request) -> str:
    return "en" if request.headers.get("Accept-Language", "").startswith("en") else "zh-CN"


def _page(request: web.Request, event: Event, session_id: str, language: str) -> web.Response:
    mimic = request.app[MIMIC]
    token = secrets.token_urlsafe(8)
    mimic.tokens[token] = session_id
    target = FormTarget("/wap/", token, {"session": session_id})
    wml = "text/vnd.wap.wml" in request.headers.get("Accept", "")
    render = render_wml if wml else render_xhtml
    page = render(event, CATALOGUE, language, target)
    return web.Response(body=page.body.encode(), headers={"Content-Type": page.content_type})


def _advance(mimic: Mimic, state: SessionState, text: str) -> tuple[Event, SessionState]:
    step = ENGINE.feed(state, text, lambda pin: f"sealed:{pin}")
    while isinstance(step.event, RunOperation):
        mimic.operations.append(step.event)
        step = ENGINE.resume(step.state, "ok", OUTCOME_VALUES)
    return step.event, step.state


async def start(request: web.Request) -> web.Response:
    _record(request, b"")
    mimic = request.app[MIMIC]
    session_id = secrets.token_hex(4)
    step = ENGINE.start("agent_main", _language(request))
    mimic.sessions[session_id] = step.state
    return _page(request, step.event, session_id, step.state.language)


async def answer(request: web.Request) -> web.Response:
    body = await request.read()
    _record(request, body)
    mimic = request.app[MIMIC]
    form = await request.post()
    token, session_id = str(form.get("token", "")), str(form.get("session", ""))
    if mimic.tokens.pop(token, None) != session_id or session_id not in mimic.sessions:
        raise web.HTTPForbidden(text="spent or unknown form token")
    text = str(form.get("input", ""))
    mimic.inputs.append(text)
    event, state = _advance(mimic, mimic.sessions[session_id], text)
    assert isinstance(event, Ask | End)
    mimic.sessions[session_id] = state
    return _page(request, event, session_id, state.language)


async def echo(request: web.Request) -> web.Response:
    _record(request, await request.read())
    response = web.Response(text="echo", headers={"Set-Cookie": "seen=1; Path=/"})
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Internal"] = "not for handsets"
    return response


async def redirect(request: web.Request) -> web.Response:
    _record(request, b"")
    target = f"{request.scheme}://{request.host}/wap/echo?from=redirect"
    raise web.HTTPFound(target)


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(request.app[MIMIC].slow_s)
    return web.Response(text="late")


async def big(request: web.Request) -> web.Response:
    return web.Response(body=b"x" * (1024 * 1024), content_type="text/vnd.wap.wml")


async def elsewhere(request: web.Request) -> web.Response:
    _record(request, b"")
    return web.Response(text="not for the gateway")


def create_mimic_app(mimic: Mimic) -> web.Application:
    app = web.Application()
    app[MIMIC] = mimic
    app.router.add_get("/wap/", start)
    app.router.add_post("/wap/", answer)
    app.router.add_route("*", "/wap/echo", echo)
    app.router.add_get("/wap/redirect", redirect)
    app.router.add_get("/wap/slow", slow)
    app.router.add_get("/wap/big", big)
    app.router.add_get("/api/v1/secret", elsewhere)
    return app
