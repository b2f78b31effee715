"""The BOSS emulator's HTTP API (aiohttp, JSON, amounts in fen), as ARCHITECTURE.md fixes it.

Answers to mutating calls: 200 applied, 422 failed (with a reason), 409 conflict or cancelled,
400 bad input (`{"error": message naming the field}`), 503 injected fault. Status and cancel
answer the reference's state: 200, or 404 when a status query finds nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from aiohttp import web

from simulator.boss.durable import GroupCommit
from simulator.boss.faults import FaultConfig, FaultInjector
from simulator.boss.model import BossOperation, Lookup, Outcome, OutcomeStatus, Subscriber
from simulator.boss.state import BossState
from simulator.boss.store import BossStore
from simulator.boss.validation import (
    InvalidInputError,
    check_fields,
    parse_amount,
    parse_date,
    parse_msisdn,
    parse_ref,
)
from simulator.http_input import invalid_input_middleware, json_body

STATE_KEY = web.AppKey("boss_state", BossState)
FAULTS_KEY = web.AppKey("boss_faults", FaultInjector)
COMMITS_KEY = web.AppKey("boss_commits", GroupCommit)

_T = TypeVar("_T")

_OUTCOME_HTTP_STATUS: dict[OutcomeStatus, int] = {
    "applied": 200,
    "failed": 422,
    "cancelled": 409,
    "conflict": 409,
}


def create_boss_app(state: BossState) -> web.Application:
    """The BOSS API over `state`; the caller keeps ownership of the state (and closes it)."""
    app = web.Application(middlewares=[invalid_input_middleware])
    app[STATE_KEY] = state
    app[FAULTS_KEY] = FaultInjector()
    app.on_shutdown.append(_close_faults)
    if isinstance(state.sink, BossStore):
        app[COMMITS_KEY] = GroupCommit(state.sink)
        app.cleanup_ctx.append(_group_commits)
    app.router.add_post("/boss/recharge", post_recharge)
    app.router.add_get("/boss/recharge/{ref}", get_status)
    app.router.add_post("/boss/recharge/{ref}/cancel", post_cancel)
    app.router.add_post("/boss/billpay", post_billpay)
    app.router.add_post("/boss/transfer", post_transfer)
    app.router.add_post("/boss/reversal", post_reversal)
    app.router.add_get("/boss/subscribers/{msisdn}", get_subscriber)
    app.router.add_get("/boss/records", get_records)
    app.router.add_put("/boss/faults", put_faults)
    app.router.add_get("/boss/faults", get_faults)
    return app


async def _group_commits(app: web.Application) -> AsyncIterator[None]:
    commits = app[COMMITS_KEY]
    commits.start()
    yield
    commits.stop()


async def _durable(request: web.Request) -> None:
    """Wait until everything decided so far is on disk (the state file's group commit)."""
    commits = request.app.get(COMMITS_KEY)
    if commits is not None:
        await commits.durable()


async def _close_faults(app: web.Application) -> None:
    # on_shutdown, not cleanup_ctx: it runs before the server waits for open requests, so the
    # calls held without an answer are released instead of stalling the shutdown.
    await app[FAULTS_KEY].aclose()


# -- mutating endpoints ----------------------------------------------------------------------


async def post_recharge(request: web.Request) -> web.Response:
    """POST /boss/recharge {ref, msisdn, amount}."""
    body = await _json_object(request, ("ref", "msisdn", "amount"))
    ref, msisdn = parse_ref(body["ref"]), parse_msisdn(body["msisdn"])
    amount = parse_amount(body["amount"])
    state = request.app[STATE_KEY]
    return await _mutate(request, lambda: state.recharge(ref, msisdn, amount), _outcome_response)


async def post_billpay(request: web.Request) -> web.Response:
    """POST /boss/billpay {ref, msisdn, amount}."""
    body = await _json_object(request, ("ref", "msisdn", "amount"))
    ref, msisdn = parse_ref(body["ref"]), parse_msisdn(body["msisdn"])
    amount = parse_amount(body["amount"])
    state = request.app[STATE_KEY]
    return await _mutate(request, lambda: state.billpay(ref, msisdn, amount), _outcome_response)


async def post_transfer(request: web.Request) -> web.Response:
    """POST /boss/transfer {ref, from, to, amount}."""
    body = await _json_object(request, ("ref", "from", "to", "amount"))
    ref, amount = parse_ref(body["ref"]), parse_amount(body["amount"])
    from_, to = parse_msisdn(body["from"], "from"), parse_msisdn(body["to"], "to")
    state = request.app[STATE_KEY]
    return await _mutate(request, lambda: state.transfer(ref, from_, to, amount), _outcome_response)


async def post_reversal(request: web.Request) -> web.Response:
    """POST /boss/reversal {ref, original_ref}."""
    body = await _json_object(request, ("ref", "original_ref"))
    ref = parse_ref(body["ref"])
    original_ref = parse_ref(body["original_ref"], "original_ref")
    state = request.app[STATE_KEY]
    return await _mutate(request, lambda: state.reversal(ref, original_ref), _outcome_response)


async def post_cancel(request: web.Request) -> web.Response:
    """POST /boss/recharge/{ref}/cancel: any kind of reference; 200 with its status."""
    ref = parse_ref(request.match_info["ref"])
    state = request.app[STATE_KEY]
    return await _mutate(request, lambda: state.cancel(ref), _lookup_response)


async def _mutate(
    request: web.Request, apply: Callable[[], _T], answer: Callable[[_T], web.Response]
) -> web.Response:
    response = await request.app[FAULTS_KEY].run(apply, answer)
    await _durable(request)  # no answer before its event is on disk
    return response


# -- queries ---------------------------------------------------------------------------------


async def get_status(request: web.Request) -> web.Response:
    """GET /boss/recharge/{ref}: any kind of reference; 404 when not found."""
    ref = parse_ref(request.match_info["ref"])
    await _durable(request)  # never report what a crash could take back
    return _lookup_response(request.app[STATE_KEY].status(ref))


async def get_subscriber(request: web.Request) -> web.Response:
    """GET /boss/subscribers/{msisdn}."""
    msisdn = parse_msisdn(request.match_info["msisdn"])
    await _durable(request)
    subscriber = request.app[STATE_KEY].subscriber(msisdn)
    if subscriber is None:
        return web.json_response({"error": "unknown_subscriber", "msisdn": msisdn}, status=404)
    return web.json_response(subscriber_json(subscriber))


async def get_records(request: web.Request) -> web.Response:
    """GET /boss/records?date=YYYY-MM-DD: the day's applied operations as CSV."""
    day = parse_date(request.query.get("date"))
    await _durable(request)
    text = request.app[STATE_KEY].records(day)
    return web.Response(text=text, content_type="text/csv", charset="utf-8")


async def put_faults(request: web.Request) -> web.Response:
    """PUT /boss/faults: replace the fault settings (absent keys are 0)."""
    config = FaultConfig.from_json(await json_body(request))
    request.app[FAULTS_KEY].configure(config)
    return web.json_response(config.to_json())


async def get_faults(request: web.Request) -> web.Response:
    """GET /boss/faults: the fault settings."""
    return web.json_response(request.app[FAULTS_KEY].config.to_json())


# -- bodies and answers ----------------------------------------------------------------------


async def _json_object(request: web.Request, fields: tuple[str, ...]) -> dict[str, Any]:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidInputError(f"the body must be a JSON object with {', '.join(fields)}")
    check_fields(body, required=fields)
    return body


def _outcome_response(outcome: Outcome) -> web.Response:
    if outcome.operation is None:
        body: dict[str, Any] = {"ref": outcome.ref, "status": outcome.status}
    else:
        body = operation_json(outcome.operation)
    return web.json_response(body, status=_OUTCOME_HTTP_STATUS[outcome.status])


def _lookup_response(lookup: Lookup) -> web.Response:
    if lookup.operation is None:
        body: dict[str, Any] = {"ref": lookup.ref, "status": lookup.status}
    else:
        body = operation_json(lookup.operation)
        if lookup.reversed_by is not None:
            body["reversed_by"] = lookup.reversed_by
    return web.json_response(body, status=404 if lookup.status == "not_found" else 200)


def operation_json(operation: BossOperation) -> dict[str, Any]:
    """An operation as the API answers it.

    Transfers (and reversals of transfers) name `from` and `to`, others `msisdn`; positions
    after applying are `balance` or `bill_due` (the first subscriber) and `to_balance` or
    `to_bill_due` (a transfer's receiver).
    """
    body: dict[str, Any] = {
        "ref": operation.ref,
        "status": operation.status,
        "kind": operation.kind,
        "amount": operation.amount_fen,
    }
    if operation.counterparty is not None:
        body["from"], body["to"] = operation.msisdn, operation.counterparty
    else:
        body["msisdn"] = operation.msisdn
    if operation.original_ref is not None:
        body["original_ref"] = operation.original_ref
    if operation.reason is not None:
        body["reason"] = operation.reason
    if operation.applied_at is not None:
        body["applied_at"] = operation.applied_at.isoformat()
    for prefix, position in zip(("", "to_"), operation.positions_after, strict=False):
        name = "balance" if position.kind == "prepaid" else "bill_due"
        body[prefix + name] = position.amount_fen
    return body


def subscriber_json(subscriber: Subscriber) -> dict[str, Any]:
    """A subscriber as GET /boss/subscribers/{msisdn} answers it."""
    body: dict[str, Any] = {"msisdn": subscriber.msisdn, "type": subscriber.kind}
    if subscriber.kind == "prepaid":
        body["balance"] = subscriber.balance_fen
    else:
        body["bill_due"] = subscriber.bill_due_fen
    body["language"] = subscriber.language
    body["status"] = subscriber.status
    return body
