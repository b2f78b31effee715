"""Deposit from the bank: money paid into the operator's collection account, quoting an
agent's number, raises that agent's deposit.

One ledger transaction moves the amount from bank clearing (the mirror of the money held at
the bank) to the agent's deposit account, with its `operations` row (kind `deposit`, channel
`bank`, key `bank:<txn id>`, state `posted`) in the same commit. The bank's txn id is the
idempotency key: a redelivery with the same content writes nothing and answers `duplicate`;
the same txn id with other content writes nothing and answers `conflict`.

A reference that names no agent cannot be refused — the money is already at the bank — so
it is credited to suspense instead (state `suspense`, `agent_id` NULL, reason
`unknown_agent`, `msisdn` the number quoted, or empty when the reference reads as no
number), for a person to place.
"""

from __future__ import annotations

import logging
from typing import Final

from sqlalchemy import Row

from ledger import errors
from ledger.agents import find_agent
from ledger.gateways.bank import BankNotification, DepositReceipt
from ledger.money import AccountId
from ledger.operations.context import OperationContext
from ledger.operations.records import find_by_key, new_reference, operation_record
from ledger.transfers import MetaValue, Transaction, TransferRequest

log = logging.getLogger(__name__)

KIND: Final = "deposit"
CHANNEL: Final = "bank"
SUSPENSE_REASON: Final = "unknown_agent"


def deposit_key(txn_id: str) -> str:
    """The operation's idempotency key: the bank's transaction id."""
    return f"bank:{txn_id}"


async def deposit(ctx: OperationContext, notification: BankNotification) -> DepositReceipt:
    """Credit the agent the notification names (or suspense), once per bank txn id."""
    key = deposit_key(notification.txn_id)
    content_hash = notification.content_hash()
    number = notification.agent_number
    async with ctx.reader.connect() as conn:
        existing = await find_by_key(conn, key)
        if existing is not None:
            return _replay(existing, content_hash)
        agent = None if number is None else await find_agent(conn, number)
    now = ctx.clock()
    ref = new_reference(now)
    credit: AccountId = ctx.platform.suspense if agent is None else agent.deposit_account_id
    meta: dict[str, MetaValue] = {"op": KIND, "bank_txn": notification.txn_id}
    if number is not None:
        meta["msisdn"] = number
    transfer = TransferRequest.single(
        f"{ref}:deposit",
        ctx.platform.bank_clearing,
        credit,
        notification.amount,
        reference=ref,
        meta=meta,
    )
    record = operation_record(
        ref=ref,
        key=key,
        request_hash=content_hash,
        kind=KIND,
        channel=CHANNEL,
        agent_id=None if agent is None else agent.id,
        msisdn=number or "",
        amount=notification.amount,
        state="posted" if agent is not None else "suspense",
        now=now,
        reason=SUSPENSE_REASON if agent is None else None,
    )
    result = await ctx.writer.execute(Transaction((transfer,), (record,)))
    if isinstance(result.error, errors.RecordRefused):
        # A concurrent delivery of the same txn id committed first: answer what it recorded.
        async with ctx.reader.connect() as conn:
            raced = await find_by_key(conn, key)
        if raced is None:
            raise result.error
        return _replay(raced, content_hash)
    result.unwrap()
    if agent is None:
        log.warning(
            "deposit %s: bank txn %s of %d fen quotes %r, which names no agent: held in suspense",
            ref,
            notification.txn_id,
            notification.amount,
            notification.reference,
        )
        return DepositReceipt("suspense", ref)
    log.info(
        "deposit %s: bank txn %s credits agent %s with %d fen",
        ref,
        notification.txn_id,
        agent.msisdn,
        notification.amount,
    )
    return DepositReceipt("credited", ref)


def _replay(row: Row[object], content_hash: str) -> DepositReceipt:
    ref: str = row.ref
    if row.request_hash != content_hash:
        log.warning("deposit %s: %s redelivered with other content", ref, row.key)
        return DepositReceipt("conflict", ref)
    return DepositReceipt("duplicate", ref)
