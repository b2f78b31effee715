"""Persistence of the BOSS emulator: its committed events in a SQLite file of its own.

`BossState` decides, then hands one event to its sink before it changes memory; `BossStore` is
that sink. Each event is one transaction — a row in `event` (the commit order, `seq`) and a
row in the table of its kind (`subscriber_set`, `operation` with its `position` rows,
`cancellation`) — committed with WAL and `synchronous=FULL`, so it is on disk before memory
changes and so before any HTTP answer leaves. Opening a file reads the events back in `seq`
order and replays them through `BossState.replay`, the same `_apply` a live commit goes
through, which re-derives every balance and checks it against the positions recorded: a file
that was edited into something inconsistent is refused, not half loaded. The tables hold
events rather than current balances for that reason, and because a restart must restore the
very records (times included) that the daily CSV is made of. Replay costs about 30 µs an
event here: a second for a busy day of an emulator, never a concern at its scale.

The file guards its own invariants too: a reference has one row in `operation` or in
`cancellation` and never both (primary keys and two triggers), so even a faulty writer could
not apply a reference twice. The connection holds an exclusive lock for as long as the store is
open, so a second emulator on the same file fails at start instead of deciding from a stale
memory. `PRAGMA application_id` marks the file as ours and `user_version` its layout; a file
that is not SQLite, belongs to something else (the platform's database, say), has a layout we
do not know or holds an event that does not replay is refused with `StateFileError`, naming
the file.

Why the standard library's `sqlite3` and not SQLAlchemy or aiosqlite: the emulator's domain is
synchronous and decides one call at a time; a commit is one short transaction of two to four
rows, about 1 ms with `synchronous=FULL` on this machine (the fsync dominates). aiosqlite
would send each statement to a thread and back with nothing to overlap (the state is already in
memory), and SQLAlchemy Core would bring an engine, a pool and a metadata layer to five tables
that this one module owns and that no migration tool manages. The simulator may not import the
platform's SQLite settings (`ledger.sqlite`), so it sets its own pragmas here. The fsync blocks
the event loop for that commit, which is what an emulator wants: answers leave in decision
order and none before its event is durable. Served over HTTP, commits are grouped
(`defer_commits`, driven by `simulator.boss.durable`): one commit, one fsync, for every
call decided in one turn of the loop — one per call held the emulator to ~700 calls a second.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Final, get_args

from simulator.boss.model import (
    BossOperation,
    Clock,
    Event,
    Fen,
    Language,
    Msisdn,
    OperationKind,
    OperationRecorded,
    OperationStatus,
    Position,
    Reason,
    Ref,
    RefCancelled,
    Subscriber,
    SubscriberKind,
    SubscriberSet,
    SubscriberStatus,
    shanghai_now,
)
from simulator.boss.state import BossState, ReplayMismatchError

APPLICATION_ID: Final = 0x424F5353  # "BOSS": PRAGMA application_id of our files
SCHEMA_VERSION: Final = 1  # PRAGMA user_version: the layout below
LOCK_WAIT_MS: Final = 0  # another process holding the file is an error at once, not a wait

_EVENT_TABLES: Final = ("subscriber_set", "operation", "cancellation")  # event.type
_TABLES: Final = ("event", *_EVENT_TABLES, "position")

_SCHEMA: Final = (
    """CREATE TABLE event (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL CHECK (type IN ('subscriber_set', 'operation', 'cancellation'))
    ) STRICT""",
    """CREATE TABLE subscriber_set (
        seq INTEGER PRIMARY KEY REFERENCES event (seq),
        msisdn TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('prepaid', 'postpaid')),
        balance_fen INTEGER NOT NULL,
        bill_due_fen INTEGER NOT NULL,
        language TEXT NOT NULL,
        status TEXT NOT NULL
    ) STRICT""",
    """CREATE TABLE operation (
        ref TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE REFERENCES event (seq),
        kind TEXT NOT NULL CHECK (kind IN ('recharge', 'billpay', 'transfer', 'reversal')),
        msisdn TEXT,
        counterparty TEXT,
        amount_fen INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('applied', 'failed')),
        reason TEXT,
        recorded_at TEXT NOT NULL,
        applied_at TEXT,
        original_ref TEXT
    ) STRICT""",
    """CREATE TABLE position (
        ref TEXT NOT NULL REFERENCES operation (ref),
        idx INTEGER NOT NULL CHECK (idx >= 0),
        msisdn TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('prepaid', 'postpaid')),
        amount_fen INTEGER NOT NULL,
        PRIMARY KEY (ref, idx)
    ) STRICT""",
    """CREATE TABLE cancellation (
        ref TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE REFERENCES event (seq),
        at TEXT NOT NULL
    ) STRICT""",
    """CREATE TRIGGER operation_not_cancelled BEFORE INSERT ON operation
        WHEN EXISTS (SELECT 1 FROM cancellation WHERE ref = NEW.ref)
        BEGIN SELECT RAISE(ABORT, 'reference already cancelled'); END""",
    """CREATE TRIGGER cancellation_not_decided BEFORE INSERT ON cancellation
        WHEN EXISTS (SELECT 1 FROM operation WHERE ref = NEW.ref)
        BEGIN SELECT RAISE(ABORT, 'reference already decided'); END""",
)


class StateFileError(Exception):
    """A state file that cannot be used: names the file and says why."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path = path
        self.why = why


class BossStore:
    """An open state file; `append` returns only once the event is committed to disk —
    unless commits are deferred (`defer_commits`): then the event waits in the open
    transaction, and `commit()` makes every event appended so far durable at once."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = connection
        self._pending: Callable[[], None] | None = None

    def defer_commits(self, pending: Callable[[], None] | None) -> None:
        """Group commit: from now on `append` leaves its event in the open transaction and
        calls `pending`, whose caller must `commit()` soon and answer nobody about those
        events before it did. None: what is pending is committed, and each `append` commits
        again."""
        if pending is None:
            self.commit()
        self._pending = pending

    def commit(self) -> None:
        """Make every event appended so far durable (one fsync); nothing to do if none."""
        connection = self._open_connection()
        if connection.in_transaction:
            connection.execute("COMMIT")

    @classmethod
    def open(cls, path: Path) -> BossStore:
        """Open the file (created when absent) and lock it; StateFileError when unusable."""
        if path.is_dir():
            raise StateFileError(path, "is a directory, not a BOSS emulator state file")
        created = not path.exists()
        try:
            connection = sqlite3.connect(path, isolation_level=None, timeout=LOCK_WAIT_MS / 1000)
        except sqlite3.Error as error:
            raise StateFileError(path, f"cannot be opened: {error}") from error
        try:
            _prepare(path, connection)
        except BaseException:
            connection.close()
            raise
        if created:
            _fsync_directory(path.parent)
        return cls(path, connection)

    def append(self, event: Event) -> None:
        """Commit one event (all its rows or none); with commits deferred, write it into the
        open transaction (all its rows or none: a savepoint) and tell `pending`."""
        if self._pending is None:
            with self._transaction() as cursor:
                _insert_event_rows(cursor, event)
            return
        connection = self._open_connection()
        cursor = connection.cursor()
        try:
            if not connection.in_transaction:
                cursor.execute("BEGIN IMMEDIATE")
            cursor.execute("SAVEPOINT event")
            try:
                _insert_event_rows(cursor, event)
            except BaseException:
                cursor.execute("ROLLBACK TO event")
                raise
            finally:
                cursor.execute("RELEASE event")
        finally:
            cursor.close()
        self._pending()

    def events(self) -> list[tuple[int, Event]]:
        """Every committed event with its `seq`, in commit order; StateFileError for a row
        that decodes to no event."""
        connection = self._open_connection()
        connection.row_factory = sqlite3.Row
        try:
            rows = {table: _rows_by_seq(connection, table) for table in _EVENT_TABLES}
            positions: dict[str, list[sqlite3.Row]] = {}
            for row in connection.execute("SELECT * FROM position ORDER BY ref, idx"):
                positions.setdefault(row["ref"], []).append(row)
            order = connection.execute("SELECT seq, type FROM event ORDER BY seq").fetchall()
        finally:
            connection.row_factory = None
        events: list[tuple[int, Event]] = []
        for seq, table in order:
            row = rows[table].pop(seq, None)
            if row is None:
                raise StateFileError(self.path, f"event {seq}: its {table} row is missing")
            try:
                own = positions.pop(row["ref"], []) if table == "operation" else []
                events.append((seq, _decode(table, row, own)))
            except (ValueError, KeyError, IndexError, TypeError, AssertionError) as error:
                why = str(error) or repr(error)
                raise StateFileError(self.path, f"event {seq}: {why}") from error
        stray = [f"{table} seq {seq}" for table, left in rows.items() for seq in left]
        stray += [f"position of {ref}" for ref in positions]
        if stray:
            raise StateFileError(self.path, f"rows without their event: {', '.join(stray)}")
        return events

    def close(self) -> None:
        """Commit what is pending, close the file and release its lock; appending afterwards
        is a programming error."""
        if self._connection is not None:
            self.commit()
            self._connection.close()
            self._connection = None

    def _open_connection(self) -> sqlite3.Connection:
        assert self._connection is not None, f"state file {self.path} is closed"
        return self._connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        connection = self._open_connection()
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
            cursor.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:  # a failed COMMIT may have rolled back already
                connection.execute("ROLLBACK")
            raise
        finally:
            cursor.close()


def open_boss_state(path: Path | None = None, *, clock: Clock = shanghai_now) -> BossState:
    """A state replayed from the file at `path` (created when absent), or in memory (None).

    The caller owns the result and calls `close()` on it, which closes the file.
    """
    if path is None:
        return BossState(clock=clock)
    store = BossStore.open(path)
    try:
        numbered = store.events()
        try:
            return BossState.replay([event for _, event in numbered], clock=clock, sink=store)
        except ReplayMismatchError as error:
            seq = numbered[error.index or 0][0]  # replay counts the events it was given from 0
            raise StateFileError(path, f"event {seq}: {error.why}") from error
    except BaseException:
        store.close()
        raise


# -- opening ---------------------------------------------------------------------------------


def _prepare(path: Path, connection: sqlite3.Connection) -> None:
    """Lock the file for this process, check it is ours (or make a fresh one ours)."""
    try:
        connection.execute("PRAGMA locking_mode=EXCLUSIVE")
        application_id, version, tables = _identity(connection)
        if application_id == 0 and not tables:
            _create_schema(connection)
        elif application_id != APPLICATION_ID:
            shown = ", ".join(sorted(tables)) or "none"
            raise StateFileError(
                path,
                f"not a BOSS emulator state file (application_id {application_id:#x},"
                f" tables: {shown})",
            )
        elif version != SCHEMA_VERSION:
            raise StateFileError(
                path, f"state file layout {version}; this emulator reads layout {SCHEMA_VERSION}"
            )
        elif missing := [table for table in _TABLES if table not in tables]:
            raise StateFileError(path, f"state file lacks tables: {', '.join(missing)}")
        mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            raise StateFileError(path, f"cannot use WAL (journal mode stays {mode})")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        # Take the exclusive lock now, so a second emulator fails here and not at its first call.
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("COMMIT")
    except sqlite3.OperationalError as error:
        if "locked" in str(error):
            raise StateFileError(path, "in use by another process (a BOSS emulator?)") from error
        raise StateFileError(path, f"cannot be used: {error}") from error
    except sqlite3.DatabaseError as error:  # "file is not a database" and other corruption
        raise StateFileError(path, f"not a BOSS emulator state file: {error}") from error


def _rows_by_seq(connection: sqlite3.Connection, table: str) -> dict[int, sqlite3.Row]:
    assert table in _EVENT_TABLES  # a name of ours, never input, so formatting it in is safe
    return {row["seq"]: row for row in connection.execute(f"SELECT * FROM {table}")}  # noqa: S608


def _identity(connection: sqlite3.Connection) -> tuple[int, int, set[str]]:
    application_id = connection.execute("PRAGMA application_id").fetchone()[0]
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    tables = {
        name
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    }
    return application_id, version, tables


def _create_schema(connection: sqlite3.Connection) -> None:
    connection.execute("BEGIN IMMEDIATE")
    try:
        for statement in _SCHEMA:
            connection.execute(statement)
        connection.execute(f"PRAGMA application_id={APPLICATION_ID}")
        connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _fsync_directory(directory: Path) -> None:
    """Make a new file's directory entry durable (POSIX only)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- writing ---------------------------------------------------------------------------------


def _insert_event_rows(cursor: sqlite3.Cursor, event: Event) -> None:
    if isinstance(event, SubscriberSet):
        _insert_subscriber(cursor, event.subscriber)
    elif isinstance(event, RefCancelled):
        seq = _insert_event(cursor, "cancellation")
        cursor.execute(
            "INSERT INTO cancellation (ref, seq, at) VALUES (?, ?, ?)",
            (event.ref, seq, event.at.isoformat()),
        )
    else:
        _insert_operation(cursor, event.operation)


def _insert_event(cursor: sqlite3.Cursor, table: str) -> int:
    cursor.execute("INSERT INTO event (type) VALUES (?)", (table,))
    seq = cursor.lastrowid
    assert seq is not None
    return seq


def _insert_subscriber(cursor: sqlite3.Cursor, subscriber: Subscriber) -> None:
    seq = _insert_event(cursor, "subscriber_set")
    cursor.execute(
        "INSERT INTO subscriber_set (seq, msisdn, kind, balance_fen, bill_due_fen, language,"
        " status) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            seq,
            subscriber.msisdn,
            subscriber.kind,
            subscriber.balance_fen,
            subscriber.bill_due_fen,
            subscriber.language,
            subscriber.status,
        ),
    )


def _insert_operation(cursor: sqlite3.Cursor, op: BossOperation) -> None:
    seq = _insert_event(cursor, "operation")
    cursor.execute(
        "INSERT INTO operation (ref, seq, kind, msisdn, counterparty, amount_fen, status,"
        " reason, recorded_at, applied_at, original_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            op.ref,
            seq,
            op.kind,
            op.msisdn,
            op.counterparty,
            op.amount_fen,
            op.status,
            op.reason,
            op.recorded_at.isoformat(),
            op.applied_at.isoformat() if op.applied_at is not None else None,
            op.original_ref,
        ),
    )
    cursor.executemany(
        "INSERT INTO position (ref, idx, msisdn, kind, amount_fen) VALUES (?, ?, ?, ?, ?)",
        [(op.ref, idx, p.msisdn, p.kind, p.amount_fen) for idx, p in enumerate(op.positions_after)],
    )


# -- reading ---------------------------------------------------------------------------------


def _decode(table: str, row: sqlite3.Row, positions: list[sqlite3.Row]) -> Event:
    if table == "subscriber_set":
        return SubscriberSet(
            Subscriber(
                msisdn=Msisdn(row["msisdn"]),
                kind=_choice(row, "kind", SubscriberKind),
                balance_fen=Fen(row["balance_fen"]),
                bill_due_fen=Fen(row["bill_due_fen"]),
                language=_choice(row, "language", Language),
                status=_choice(row, "status", SubscriberStatus),
            )
        )
    if table == "cancellation":
        return RefCancelled(Ref(row["ref"]), _moment(row["at"]))
    reason, applied_at = row["reason"], row["applied_at"]
    if [position["idx"] for position in positions] != list(range(len(positions))):
        raise ValueError(f"positions of {row['ref']} are not numbered 0, 1, …")
    return OperationRecorded(
        BossOperation(
            ref=Ref(row["ref"]),
            kind=_choice(row, "kind", OperationKind),
            msisdn=_msisdn_or_none(row["msisdn"]),
            counterparty=_msisdn_or_none(row["counterparty"]),
            amount_fen=Fen(row["amount_fen"]),
            status=_choice(row, "status", OperationStatus),
            reason=_choice(row, "reason", Reason) if reason is not None else None,
            recorded_at=_moment(row["recorded_at"]),
            applied_at=_moment(applied_at) if applied_at is not None else None,
            original_ref=Ref(row["original_ref"]) if row["original_ref"] is not None else None,
            positions_after=tuple(
                Position(
                    Msisdn(p["msisdn"]), _choice(p, "kind", SubscriberKind), Fen(p["amount_fen"])
                )
                for p in positions
            ),
        )
    )


def _choice(row: sqlite3.Row, key: str, literal: object) -> Any:
    """The column's value when it is one of the literal type's values (the caller casts)."""
    value = row[key]
    if value not in get_args(literal):
        raise ValueError(f"{key} {value!r} is not one of {get_args(literal)}")
    return value


def _msisdn_or_none(value: str | None) -> Msisdn | None:
    return Msisdn(value) if value is not None else None


def _moment(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"time {value!r} is not text")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"time {value!r} has no UTC offset")
    return moment
