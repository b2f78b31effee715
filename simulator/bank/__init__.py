"""The bank emulator: the operator's collection account as an aiohttp JSON service (port 8082).

Agents (or anyone) pay into the account quoting an agent's number; the bank books the credit
and notifies the platform (`POST {platform}/bank/notify`, signed, at least once, across
restarts), and answers a daily statement as CSV. `BankState(path)` opens (or creates) its
SQLite file, `Notifier(state, secret)` delivers, `create_bank_app(state, notifier)` serves.
See docs/bank-emulator.md.
"""

from simulator.bank.app import NOTIFIER_KEY, STATE_KEY, create_bank_app
from simulator.bank.faults import FaultConfig
from simulator.bank.model import (
    COLLECTION_ACCOUNT,
    SIGNATURE_HEADER,
    BankTransfer,
    TransferRequest,
    notification_body,
    sign,
)
from simulator.bank.notifier import Notifier
from simulator.bank.state import BankState, RequestConflictError

DEMO_SECRET = "demo-bank-secret"  # noqa: S105 -- the published demo value `serve` refuses

__all__ = [
    "COLLECTION_ACCOUNT",
    "DEMO_SECRET",
    "NOTIFIER_KEY",
    "SIGNATURE_HEADER",
    "STATE_KEY",
    "BankState",
    "BankTransfer",
    "FaultConfig",
    "Notifier",
    "RequestConflictError",
    "TransferRequest",
    "create_bank_app",
    "notification_body",
    "sign",
]
