"""The bank emulator's HTTP API (aiohttp, JSON, amounts in fen); see docs/bank-emulator.md.

- `POST /bank/transfers {payer_name, payer_account, agent_msisdn, amount[, request_id]}`:
  pay into the operator's collection account quoting the agent's number. 201 with the
  transfer when booked, 200 with the same transfer when `request_id` booked it before, 409
  when `request_id` booked other content. The platform is then notified (`notifier`).
- `GET /bank/transfers/{txn_id}`: the transfer and its notification's state; 404 unknown.
- `GET /bank/statement?date=YYYY-MM-DD`: the day's credits as CSV (Asia/Shanghai day).
- `GET /bank/account`: the collection account and its balance.
- `PUT /bank/faults {duplicate_deliveries, delay_ms}` · `GET /bank/faults`.

Bad input answers 400 `{"error": message naming the field}` and books nothing.
"""

from __future__ import annotations

import re
from typing import Any, Final

from aiohttp import web

from simulator.bank.faults import FaultConfig
from simulator.bank.model import COLLECTION_ACCOUNT, CURRENCY, BankTransfer, TransferRequest
from simulator.bank.notifier import Notifier
from simulator.bank.state import BankState, RequestConflictError
from simulator.boss.validation import (
    InvalidInputError,
    check_fields,
    parse_amount,
    parse_date,
    parse_ref,
)
from simulator.http_input import invalid_input_middleware, json_body

STATE_KEY = web.AppKey("bank_state", BankState)
NOTIFIER_KEY = web.AppKey("bank_notifier", Notifier)

PAYER_NAME_LENGTH_MAX: Final = 100
PAYER_ACCOUNT_LENGTH_MAX: Final = 34  # an IBAN's length; Chinese card numbers are 16–19
REFERENCE_LENGTH_MAX: Final = 64
_PRINTABLE = re.compile(r"[^\x00-\x1f\x7f]+")


def create_bank_app(state: BankState, notifier: Notifier) -> web.Application:
    """The bank API over `state`; the caller owns both and starts and closes the notifier."""
    app = web.Application(middlewares=[invalid_input_middleware])
    app[STATE_KEY] = state
    app[NOTIFIER_KEY] = notifier
    app.router.add_post("/bank/transfers", post_transfer)
    app.router.add_get("/bank/transfers/{txn_id}", get_transfer)
    app.router.add_get("/bank/statement", get_statement)
    app.router.add_get("/bank/account", get_account)
    app.router.add_put("/bank/faults", put_faults)
    app.router.add_get("/bank/faults", get_faults)
    return app


async def post_transfer(request: web.Request) -> web.Response:
    """POST /bank/transfers: book a credit and owe the platform a notification."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidInputError("the body must be a JSON object")
    check_fields(
        body,
        required=("payer_name", "payer_account", "agent_msisdn", "amount"),
        optional=("request_id",),
    )
    request_id = body.get("request_id")
    transfer_request = TransferRequest(
        payer_name=_text(body["payer_name"], "payer_name", PAYER_NAME_LENGTH_MAX),
        payer_account=_text(body["payer_account"], "payer_account", PAYER_ACCOUNT_LENGTH_MAX),
        reference=_text(body["agent_msisdn"], "agent_msisdn", REFERENCE_LENGTH_MAX),
        amount_fen=parse_amount(body["amount"]),
        request_id=None if request_id is None else parse_ref(request_id, "request_id"),
    )
    try:
        booking = request.app[NOTIFIER_KEY].book(transfer_request)
    except RequestConflictError as error:
        answer = {"error": "conflict", "request_id": error.request_id, "txn_id": error.txn_id}
        return web.json_response(answer, status=409)
    return web.json_response(
        transfer_json(booking.transfer), status=200 if booking.replayed else 201
    )


async def get_transfer(request: web.Request) -> web.Response:
    """GET /bank/transfers/{txn_id}."""
    txn_id = request.match_info["txn_id"]
    transfer = request.app[STATE_KEY].transfer(txn_id)
    if transfer is None:
        return web.json_response({"error": "unknown_transfer", "txn_id": txn_id}, status=404)
    return web.json_response(transfer_json(transfer))


async def get_statement(request: web.Request) -> web.Response:
    """GET /bank/statement?date=YYYY-MM-DD."""
    day = parse_date(request.query.get("date"))
    text = request.app[STATE_KEY].statement(day)
    return web.Response(text=text, content_type="text/csv", charset="utf-8")


async def get_account(request: web.Request) -> web.Response:
    """GET /bank/account: the collection account and its balance in fen."""
    balance = request.app[STATE_KEY].balance_fen()
    body = {"account": COLLECTION_ACCOUNT, "currency": CURRENCY, "balance": balance}
    return web.json_response(body)


async def put_faults(request: web.Request) -> web.Response:
    """PUT /bank/faults: replace the fault settings (absent keys are 0)."""
    config = FaultConfig.from_json(await json_body(request))
    request.app[NOTIFIER_KEY].faults = config
    return web.json_response(config.to_json())


async def get_faults(request: web.Request) -> web.Response:
    """GET /bank/faults."""
    return web.json_response(request.app[NOTIFIER_KEY].faults.to_json())


def transfer_json(transfer: BankTransfer) -> dict[str, Any]:
    """A transfer as the API answers it."""
    body: dict[str, Any] = {
        "txn_id": transfer.txn_id,
        "account": COLLECTION_ACCOUNT,
        "amount": transfer.request.amount_fen,
        "currency": CURRENCY,
        "payer_name": transfer.request.payer_name,
        "payer_account": transfer.request.payer_account,
        "agent_msisdn": transfer.request.reference,
        "booked_at": transfer.booked_at.isoformat(),
        "value_date": transfer.value_date.isoformat(),
        "notification": {
            "state": transfer.delivery,
            "attempts": transfer.attempts,
            "last_status": transfer.last_status,
            "delivered_at": None
            if transfer.delivered_at is None
            else transfer.delivered_at.isoformat(),
        },
    }
    if transfer.request.request_id is not None:
        body["request_id"] = transfer.request.request_id
    return body


def _text(value: object, field: str, length_max: int) -> str:
    """A non-blank string of printable characters, at most `length_max`, trimmed."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{field} must be a non-empty string")
    text = value.strip()
    if len(text) > length_max:
        raise InvalidInputError(f"{field} is longer than {length_max} characters")
    if _PRINTABLE.fullmatch(text) is None:
        raise InvalidInputError(f"{field} must not hold control characters")
    return text
