"""Value types of the bank emulator, and how its notifications are written and signed.

A `BankTransfer` is one credit to the operator's collection account: someone paid, quoting an
agent's number as the payment reference. The bank tells the platform with a notification whose
body is fixed when the transfer is booked (`notification_body`), so every delivery of it sends
the same bytes; only the signature header is made afresh for each attempt, over its own
timestamp, so a redelivery a day later is not stale (see `sign`).

Everything here is immutable and free of I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal

from simulator.boss.model import SHANGHAI, Fen

__all__ = [
    "COLLECTION_ACCOUNT",
    "CURRENCY",
    "SHANGHAI",
    "SIGNATURE_HEADER",
    "BankTransfer",
    "DeliveryState",
    "Fen",
    "TransferRequest",
    "notification_body",
    "sign",
]

SIGNATURE_HEADER: Final = "X-Bank-Signature"
SIGNATURE_SCHEME: Final = "v1"
CURRENCY: Final = "CNY"
# The operator's collection account at the emulated bank: every transfer is paid into it.
COLLECTION_ACCOUNT: Final = "6222020200000000001"

DeliveryState = Literal["pending", "delivered", "abandoned"]


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """What a payer asks the bank: pay `amount_fen` into the collection account, quoting
    `reference` (the agent's number, as the payer typed it)."""

    payer_name: str
    payer_account: str
    reference: str
    amount_fen: Fen
    request_id: str | None = None

    def same_content(self, other: TransferRequest) -> bool:
        """True when `other` asks for the same payment (its request id aside)."""
        return (self.payer_name, self.payer_account, self.reference, self.amount_fen) == (
            other.payer_name,
            other.payer_account,
            other.reference,
            other.amount_fen,
        )


@dataclass(frozen=True, slots=True)
class BankTransfer:
    """A booked credit to the collection account and the state of its notification."""

    txn_id: str
    request: TransferRequest
    booked_at: datetime
    delivery: DeliveryState
    attempts: int
    last_status: str | None
    delivered_at: datetime | None

    def __post_init__(self) -> None:
        assert self.booked_at.tzinfo is not None, "booked_at is timezone-aware"
        assert (self.delivery == "delivered") == (self.delivered_at is not None), self

    @property
    def value_date(self) -> date:
        """The Asia/Shanghai business day the money counts for."""
        return self.booked_at.astimezone(SHANGHAI).date()


def notification_body(txn_id: str, request: TransferRequest, booked_at: datetime) -> bytes:
    """The notification's JSON body (UTF-8, keys sorted, no spaces): what is signed and sent."""
    body = {
        "txn_id": txn_id,
        "amount": request.amount_fen,
        "currency": CURRENCY,
        "payer_name": request.payer_name,
        "payer_account": request.payer_account,
        "reference": request.reference,
        "value_date": booked_at.astimezone(SHANGHAI).date().isoformat(),
        "booked_at": booked_at.astimezone(SHANGHAI).isoformat(),
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """The `X-Bank-Signature` value: `t=<unix seconds>,v1=<hex HMAC-SHA256>` of
    `<t>.` followed by the exact body bytes, under the shared secret."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},{SIGNATURE_SCHEME}={mac}"
