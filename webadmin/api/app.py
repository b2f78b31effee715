"""The `/api/v1` application: three read-only GET resources over the ledger's tables.

    GET /api/v1/agents/{msisdn}
    GET /api/v1/transactions?agent=&msisdn=&since=&limit=&cursor=
    GET /api/v1/outcomes?state=pending|manual&limit=&cursor=

A sub-application, so its middlewares (errors as JSON outermost, then the bearer token)
cover every path under the prefix — unknown paths and wrong methods too — and nothing
else of the platform. GET only: HEAD is refused like every other method, so that what the
API answers is exactly what ARCHITECTURE.md lists.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.accounts import Account
from webadmin.api.auth import bearer_middleware
from webadmin.api.errors import BadParameter, NotFound, error_middleware, json_answer
from webadmin.api.params import Cursor, page_limit, phone_number, single_values, timestamp
from webadmin.api.queries import (
    AgentView,
    OperationFilter,
    OperationItem,
    Order,
    agent_view,
    operation_page,
)

API_PREFIX: Final = "/api/v1"
API_ENGINE = web.AppKey("api_engine", AsyncEngine)

# What `outcomes?state=` selects: operations whose outcome is not settled. `pending`: the
# reservation stands while BOSS is asked (reserved) or its answer is awaited (unknown);
# `manual`: the resolver gave up and staff must decide (the resolver adds this state).
OUTCOME_STATES: Final = {"pending": ("reserved", "unknown"), "manual": ("manual",)}
OUTCOME_STATE_DEFAULT: Final = "pending"

_TRANSACTIONS: Final = "tx"  # cursor listings: a cursor only continues its own listing
_OUTCOMES: Final = "oc"


def _balance(account: Account) -> dict[str, int]:
    return {"posted_fen": account.balance, "available_fen": account.available}


def _agent_json(view: AgentView) -> dict[str, Any]:
    return {
        "msisdn": view.msisdn,
        "name": view.name,
        "level": int(view.level),
        "parent_msisdn": view.parent_msisdn,
        "status": view.status,
        "language": view.language,
        "deposit": _balance(view.deposit),
        "commission": _balance(view.commission),
    }


def _time(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")


def _item_json(item: OperationItem) -> dict[str, Any]:
    return {
        "ref": item.ref,
        "kind": item.kind,
        "channel": item.channel,
        "agent_msisdn": item.agent_msisdn,
        "msisdn": item.msisdn,
        "amount_fen": item.amount_fen,
        "state": item.state,
        "reason": item.reason,
        "created_at": _time(item.created_at),
        "updated_at": _time(item.updated_at),
    }


async def get_agent(request: web.Request) -> web.Response:
    single_values(request.query, allowed=())
    number = phone_number("msisdn", request.match_info["msisdn"])
    async with request.app[API_ENGINE].connect() as conn:
        view = await agent_view(conn, number)
    if view is None:
        raise NotFound(f"no agent has the number {number}", code="unknown_agent")
    return json_answer(_agent_json(view))


async def _page(
    request: web.Request, where: OperationFilter, order: Order, listing: str, query: dict[str, str]
) -> web.Response:
    limit = page_limit(query.get("limit"))
    cursor_text = query.get("cursor")
    after = None if cursor_text is None else Cursor.decode(cursor_text, listing)
    async with request.app[API_ENGINE].connect() as conn:
        items, more = await operation_page(conn, where, order, limit, after)
    next_cursor = None
    if more:
        last = items[-1]
        next_cursor = Cursor(listing, last.created_at, last.id).encode()
    return json_answer({"items": [_item_json(i) for i in items], "next_cursor": next_cursor})


async def get_transactions(request: web.Request) -> web.Response:
    """Operations, most recent first, by acting agent, subscriber number and start time."""
    query = single_values(request.query, allowed=("agent", "msisdn", "since", "limit", "cursor"))
    where = OperationFilter(
        agent=None if "agent" not in query else phone_number("agent", query["agent"]),
        msisdn=None if "msisdn" not in query else phone_number("msisdn", query["msisdn"]),
        since=None if "since" not in query else timestamp("since", query["since"]),
    )
    return await _page(request, where, Order.NEWEST_FIRST, _TRANSACTIONS, query)


async def get_outcomes(request: web.Request) -> web.Response:
    """Operations whose outcome is not settled, oldest (the longest waiting) first."""
    query = single_values(request.query, allowed=("state", "limit", "cursor"))
    state = query.get("state", OUTCOME_STATE_DEFAULT)
    if state not in OUTCOME_STATES:
        raise BadParameter("state", f"expected one of {', '.join(OUTCOME_STATES)}, got {state!r}")
    where = OperationFilter(states=OUTCOME_STATES[state])
    return await _page(request, where, Order.OLDEST_FIRST, _OUTCOMES + state, query)


def create_api(engine: AsyncEngine, token: str) -> web.Application:
    """The API as a sub-application; mount it with `app.add_subapp(API_PREFIX, …)`."""
    api = web.Application(middlewares=[error_middleware, bearer_middleware(token)])
    api[API_ENGINE] = engine
    api.router.add_get("/agents/{msisdn}", get_agent, allow_head=False)
    api.router.add_get("/transactions", get_transactions, allow_head=False)
    api.router.add_get("/outcomes", get_outcomes, allow_head=False)
    return api
