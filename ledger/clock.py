"""Time in the journal: aware UTC datetimes in code, integer microseconds since the epoch in
storage and in hashes (exact, dialect-neutral, and cheap to write in bulk)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    assert moment.tzinfo is not None, "naive datetime in the ledger"
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    return _EPOCH + value * _MICROSECOND
