"""The bank emulator's domain and storage: transfers into the collection account and the
notifications still owed to the platform, in one SQLite file that survives restarts.

`BankState` is synchronous and free of aiohttp and asyncio (the notifier and the HTTP app
drive it). A transfer and its pending notification are booked in one commit, so a crash
either leaves both or neither: the platform is told about every credit at least once, however
often the emulator restarts. The notification body is stored with the transfer, so every
delivery sends the same bytes.

Transaction ids are `BK` + the booking day (Asia/Shanghai) + the row id, six digits or more:
unique for the file's life, sortable by booking.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Final

from simulator.bank.model import (
    COLLECTION_ACCOUNT,
    CURRENCY,
    SHANGHAI,
    BankTransfer,
    DeliveryState,
    Fen,
    TransferRequest,
    notification_body,
)

Clock = Callable[[], datetime]

STATEMENT_HEADER: Final = (
    "txn_id",
    "booked_at",
    "value_date",
    "account",
    "amount",
    "currency",
    "payer_name",
    "payer_account",
    "reference",
)
due_batch_max: Final = 100  # notifications taken per round of the notifier

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS transfers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    txn_id TEXT NOT NULL UNIQUE,
    request_id TEXT UNIQUE,
    payer_name TEXT NOT NULL,
    payer_account TEXT NOT NULL,
    reference TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    booked_at TEXT NOT NULL,
    value_date TEXT NOT NULL,
    body BLOB NOT NULL,
    delivery TEXT NOT NULL CHECK (delivery IN ('pending', 'delivered', 'abandoned')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,  -- unix seconds
    last_status TEXT,
    delivered_at TEXT
);
CREATE INDEX IF NOT EXISTS ix_transfers_value_date ON transfers (value_date);
CREATE INDEX IF NOT EXISTS ix_transfers_due ON transfers (delivery, next_attempt_at);
"""


def shanghai_now() -> datetime:
    """The default clock: now, in Asia/Shanghai."""
    return datetime.now(SHANGHAI)


class RequestConflictError(Exception):
    """A `request_id` already booked a transfer with other content; nothing was booked."""

    def __init__(self, request_id: str, txn_id: str) -> None:
        super().__init__(f"request_id {request_id!r} already booked {txn_id} with other content")
        self.request_id = request_id
        self.txn_id = txn_id


@dataclass(frozen=True, slots=True)
class Booking:
    """The answer to a transfer request; `replayed` when its request id had booked it before."""

    transfer: BankTransfer
    replayed: bool


@dataclass(frozen=True, slots=True)
class DueNotification:
    """A notification the platform has not acknowledged yet, due now."""

    txn_id: str
    body: bytes
    attempts: int


class BankState:
    """The emulated bank's book; see the module docstring. Close it when done."""

    def __init__(self, path: Path | None = None, *, clock: Clock = shanghai_now) -> None:
        self._clock = clock
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, one commit per change.
        self._db = sqlite3.connect(":memory:" if path is None else path, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def now(self) -> datetime:
        return self._clock()

    # -- transfers ---------------------------------------------------------------------------

    def book(self, request: TransferRequest) -> Booking:
        """Credit the collection account and owe the platform a notification, in one commit.

        The same `request_id` with the same content answers the first booking; with other
        content it raises `RequestConflictError`. Without a request id every call books anew.
        """
        now = self._clock()
        with self._transaction():
            if request.request_id is not None:
                row = self._db.execute(
                    "SELECT * FROM transfers WHERE request_id = ?", (request.request_id,)
                ).fetchone()
                if row is not None:
                    existing = _transfer(row)
                    if not existing.request.same_content(request):
                        raise RequestConflictError(request.request_id, existing.txn_id)
                    return Booking(existing, replayed=True)
            row_id = self._next_id()
            txn_id = f"BK{now.astimezone(SHANGHAI):%Y%m%d}{row_id:06d}"
            self._db.execute(
                "INSERT INTO transfers (id, txn_id, request_id, payer_name, payer_account,"
                " reference, amount, booked_at, value_date, body, delivery, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
                (
                    row_id,
                    txn_id,
                    request.request_id,
                    request.payer_name,
                    request.payer_account,
                    request.reference,
                    request.amount_fen,
                    now.astimezone(SHANGHAI).isoformat(),
                    now.astimezone(SHANGHAI).date().isoformat(),
                    notification_body(txn_id, request, now),
                    now.timestamp(),
                ),
            )
        transfer = self.transfer(txn_id)
        assert transfer is not None
        return Booking(transfer, replayed=False)

    def recent(self, limit: int) -> list[BankTransfer]:
        """The latest `limit` transfers, newest first."""
        rows = self._db.execute("SELECT * FROM transfers ORDER BY id DESC LIMIT ?", (limit,))
        return [_transfer(row) for row in rows.fetchall()]

    def transfer(self, txn_id: str) -> BankTransfer | None:
        row = self._db.execute("SELECT * FROM transfers WHERE txn_id = ?", (txn_id,)).fetchone()
        return None if row is None else _transfer(row)

    def notification(self, txn_id: str) -> bytes | None:
        """The notification body stored for a transfer: what every delivery sends."""
        row = self._db.execute("SELECT body FROM transfers WHERE txn_id = ?", (txn_id,)).fetchone()
        return None if row is None else bytes(row["body"])

    def balance_fen(self) -> Fen:
        """What the collection account holds: the sum of every credit."""
        (total,) = self._db.execute("SELECT COALESCE(SUM(amount), 0) FROM transfers").fetchone()
        return Fen(int(total))

    def statement(self, day: date) -> str:
        """CSV of the credits booked on one Asia/Shanghai business day, by time then txn id."""
        rows = self._db.execute(
            "SELECT * FROM transfers WHERE value_date = ? ORDER BY id", (day.isoformat(),)
        ).fetchall()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(STATEMENT_HEADER)
        for row in rows:
            writer.writerow(
                (
                    row["txn_id"],
                    row["booked_at"],
                    row["value_date"],
                    COLLECTION_ACCOUNT,
                    row["amount"],
                    CURRENCY,
                    row["payer_name"],
                    row["payer_account"],
                    row["reference"],
                )
            )
        return out.getvalue()

    # -- notifications -------------------------------------------------------------------------

    def due(self, limit: int = due_batch_max) -> list[DueNotification]:
        """Pending notifications whose next attempt is due, oldest booking first."""
        rows = self._db.execute(
            "SELECT txn_id, body, attempts FROM transfers"
            " WHERE delivery = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?",
            (self._clock().timestamp(), limit),
        ).fetchall()
        return [DueNotification(r["txn_id"], bytes(r["body"]), r["attempts"]) for r in rows]

    def next_due_at(self) -> datetime | None:
        """When the earliest pending notification is due (None when none is pending)."""
        row = self._db.execute(
            "SELECT MIN(next_attempt_at) FROM transfers WHERE delivery = 'pending'"
        ).fetchone()
        return None if row[0] is None else datetime.fromtimestamp(row[0], SHANGHAI)

    def postpone(self, txn_id: str, until: datetime) -> None:
        """Hold a pending notification back until `until` (the delayed-delivery fault)."""
        with self._transaction():
            self._db.execute(
                "UPDATE transfers SET next_attempt_at = ?"
                " WHERE txn_id = ? AND delivery = 'pending'",
                (until.timestamp(), txn_id),
            )

    def delivered(self, txn_id: str, status: str) -> None:
        """The platform acknowledged the notification (2xx): no more attempts."""
        now = self._clock()
        with self._transaction():
            self._db.execute(
                "UPDATE transfers SET delivery = 'delivered', attempts = attempts + 1,"
                " last_status = ?, delivered_at = ? WHERE txn_id = ? AND delivery = 'pending'",
                (status, now.astimezone(SHANGHAI).isoformat(), txn_id),
            )

    def failed(self, txn_id: str, status: str, retry_after: timedelta | None) -> None:
        """An attempt failed: try again after `retry_after`, or give up when it is None."""
        now = self._clock()
        delivery: DeliveryState = "pending" if retry_after is not None else "abandoned"
        next_at = now + (retry_after or timedelta(0))
        with self._transaction():
            self._db.execute(
                "UPDATE transfers SET delivery = ?, attempts = attempts + 1, last_status = ?,"
                " next_attempt_at = ? WHERE txn_id = ? AND delivery = 'pending'",
                (delivery, status, next_at.timestamp(), txn_id),
            )

    # -- helpers -------------------------------------------------------------------------------

    def _next_id(self) -> int:
        row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'transfers'")
        found = row.fetchone()
        return 1 if found is None else int(found[0]) + 1

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK when the block raises."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")


def _transfer(row: sqlite3.Row) -> BankTransfer:
    delivered_at = row["delivered_at"]
    return BankTransfer(
        txn_id=row["txn_id"],
        request=TransferRequest(
            payer_name=row["payer_name"],
            payer_account=row["payer_account"],
            reference=row["reference"],
            amount_fen=Fen(row["amount"]),
            request_id=row["request_id"],
        ),
        booked_at=datetime.fromisoformat(row["booked_at"]),
        delivery=row["delivery"],
        attempts=row["attempts"],
        last_status=row["last_status"],
        delivered_at=None if delivered_at is None else datetime.fromisoformat(delivered_at),
    )
