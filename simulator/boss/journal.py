"""Persistence of the BOSS emulator: an append-only JSON-lines journal of state events.

Each committed event is one line, written and `os.fsync`ed before `BossState` changes memory,
so before any HTTP answer leaves. Opening a journal replays it into a fresh `BossState`. A last
line without its newline is what a crash mid-write leaves: it is dropped (with a warning) and
cut from the file so the next append starts clean. Any other line that does not decode is an
error naming the file and the line number.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any, get_args

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

logger = logging.getLogger(__name__)

JsonObject = dict[str, Any]


class JournalCorruptError(Exception):
    """A journal line that cannot be replayed; names the file and the 1-based line."""

    def __init__(self, path: Path, line_number: int, why: str) -> None:
        super().__init__(f"{path}:{line_number}: corrupt journal line: {why}")
        self.path = path
        self.line_number = line_number


# -- codec -----------------------------------------------------------------------------------


def encode_event(event: Event) -> JsonObject:
    """An event as a JSON object (one journal line)."""
    if isinstance(event, SubscriberSet):
        s = event.subscriber
        return {
            "event": "subscriber",
            "msisdn": s.msisdn,
            "kind": s.kind,
            "balance_fen": s.balance_fen,
            "bill_due_fen": s.bill_due_fen,
            "language": s.language,
            "status": s.status,
        }
    if isinstance(event, RefCancelled):
        return {"event": "cancelled", "ref": event.ref, "at": event.at.isoformat()}
    op = event.operation
    return {
        "event": "operation",
        "ref": op.ref,
        "kind": op.kind,
        "msisdn": op.msisdn,
        "counterparty": op.counterparty,
        "amount_fen": op.amount_fen,
        "status": op.status,
        "reason": op.reason,
        "recorded_at": op.recorded_at.isoformat(),
        "applied_at": op.applied_at.isoformat() if op.applied_at is not None else None,
        "original_ref": op.original_ref,
        "positions_after": [[p.msisdn, p.kind, p.amount_fen] for p in op.positions_after],
    }


def decode_event(obj: object) -> Event:
    """The event a JSON object encodes; ValueError when it encodes none."""
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    tag = obj.get("event")
    if tag == "subscriber":
        return SubscriberSet(
            Subscriber(
                msisdn=Msisdn(_str(obj, "msisdn")),
                kind=_choice(obj, "kind", SubscriberKind),
                balance_fen=Fen(_int(obj, "balance_fen")),
                bill_due_fen=Fen(_int(obj, "bill_due_fen")),
                language=_choice(obj, "language", Language),
                status=_choice(obj, "status", SubscriberStatus),
            )
        )
    if tag == "cancelled":
        return RefCancelled(Ref(_str(obj, "ref")), _moment(obj["at"]))
    if tag == "operation":
        return OperationRecorded(_decode_operation(obj))
    raise ValueError(f"unknown event {tag!r}")


def _decode_operation(obj: JsonObject) -> BossOperation:
    msisdn, counterparty = _opt_str(obj, "msisdn"), _opt_str(obj, "counterparty")
    original_ref, applied_at = _opt_str(obj, "original_ref"), obj.get("applied_at")
    positions = obj.get("positions_after")
    if not isinstance(positions, list):
        raise ValueError("positions_after is not a list")
    return BossOperation(
        ref=Ref(_str(obj, "ref")),
        kind=_choice(obj, "kind", OperationKind),
        msisdn=Msisdn(msisdn) if msisdn is not None else None,
        counterparty=Msisdn(counterparty) if counterparty is not None else None,
        amount_fen=Fen(_int(obj, "amount_fen")),
        status=_choice(obj, "status", OperationStatus),
        reason=_choice(obj, "reason", Reason) if obj.get("reason") is not None else None,
        recorded_at=_moment(obj["recorded_at"]),
        applied_at=_moment(applied_at) if applied_at is not None else None,
        original_ref=Ref(original_ref) if original_ref is not None else None,
        positions_after=tuple(_decode_position(p) for p in positions),
    )


def _decode_position(item: object) -> Position:
    if not isinstance(item, list) or len(item) != 3:
        raise ValueError(f"position {item!r} is not [msisdn, kind, amount]")
    as_object = {"msisdn": item[0], "kind": item[1], "amount": item[2]}
    return Position(
        Msisdn(_str(as_object, "msisdn")),
        _choice(as_object, "kind", SubscriberKind),
        Fen(_int(as_object, "amount")),
    )


def _str(obj: JsonObject, key: str) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise ValueError(f"{key} is not a string")
    return value


def _opt_str(obj: JsonObject, key: str) -> str | None:
    return None if obj.get(key) is None else _str(obj, key)


def _int(obj: JsonObject, key: str) -> int:
    value = obj[key]
    if type(value) is not int:
        raise ValueError(f"{key} is not an integer")
    return value


def _choice(obj: JsonObject, key: str, literal: object) -> Any:
    """The value under key when it is one of the literal type's values (caller casts)."""
    value = obj[key]
    if value not in get_args(literal):
        raise ValueError(f"{key} {value!r} is not one of {get_args(literal)}")
    return value


def _moment(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"time {value!r} is not a string")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"time {value!r} has no UTC offset")
    return moment


# -- file ------------------------------------------------------------------------------------


class Journal:
    """An open journal file; `append` returns only once the line is on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._size = os.fstat(self._fd).st_size

    def append(self, event: Event) -> None:
        """Write one event as one line, then fsync; on failure cut the partial line away."""
        assert self._fd is not None, f"journal {self.path} is closed"
        line = json.dumps(encode_event(event), ensure_ascii=False, separators=(",", ":"))
        data = memoryview((line + "\n").encode())
        try:
            while data:
                written = os.write(self._fd, data)
                data = data[written:]
            os.fsync(self._fd)
        except OSError:
            os.ftruncate(self._fd, self._size)
            raise
        self._size += len(line.encode()) + 1

    def close(self) -> None:
        """Close the file; appending afterwards is a programming error."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def read_journal(path: Path) -> list[Event]:
    """Every event in the journal; a torn last line is dropped and cut from the file."""
    data = path.read_bytes()
    lines = data.split(b"\n")
    torn = lines.pop()  # b"" when the file ends with its newline, as it should
    events = []
    for number, raw in enumerate(lines, start=1):
        try:
            events.append(decode_event(json.loads(raw)))
        except (ValueError, KeyError, TypeError, AssertionError) as error:
            raise JournalCorruptError(path, number, str(error) or repr(error)) from error
    if torn:
        logger.warning(
            "%s:%d: ignoring a torn last line (%d bytes, a crash mid-write)",
            path,
            len(lines) + 1,
            len(torn),
        )
        with path.open("r+b") as file:
            file.truncate(len(data) - len(torn))
            os.fsync(file.fileno())
    return events


def open_boss_state(path: Path | None = None, *, clock: Clock = shanghai_now) -> BossState:
    """A state replayed from the journal at `path` (created when absent), or in memory.

    The caller owns the result and calls `close()` on it.
    """
    if path is None:
        return BossState(clock=clock)
    created = not path.exists()
    events = [] if created else read_journal(path)
    journal = Journal(path)
    if created:
        _fsync_directory(path.parent)
    try:
        return BossState.replay(events, clock=clock, sink=journal)
    except ReplayMismatchError as error:
        journal.close()
        line_number = (error.index or 0) + 1  # one event per line
        raise JournalCorruptError(path, line_number, error.why) from error


def _fsync_directory(directory: Path) -> None:
    """Make a new file's directory entry durable (POSIX only)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
