"""Time in the journal: aware UTC datetimes in code, integer microseconds since the epoch in
storage and in hashes (exact, dialect-neutral, and cheap to write in bulk)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    assert moment.tzinfo is not None, "naive datetime in the ledger"
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    return _EPOCH + value * _MICROSECOND


# China keeps one offset all year (no daylight saving), so the business day needs no tz
# database: daily limits and records follow this calendar.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


def business_day(moment: datetime) -> date:
    """The Asia/Shanghai calendar day of an aware moment."""
    assert moment.tzinfo is not None, "naive datetime in the ledger"
    return moment.astimezone(SHANGHAI).date()
