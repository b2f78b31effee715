"""Hash chains over the journal: each writer's transfers, in `seq` order, each hash covering
the previous hash and every field that carries meaning (accounts, amount, kind, keys,
reference, metadata, time). Changing, dropping or reordering a stored transfer breaks it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.transfers import meta_json


def genesis(writer_id: int) -> str:
    return hashlib.sha256(f"aircharge-ledger-writer:{writer_id}".encode()).hexdigest()


def link(previous: str, fields: tuple[Any, ...]) -> str:
    canonical = "\x1f".join("" if value is None else str(value) for value in fields)
    return hashlib.sha256(f"{previous}\x1e{canonical}".encode()).hexdigest()


def transfer_fields(
    *,
    writer_id: int,
    seq: int,
    key: str,
    kind: str,
    debit_account_id: int,
    credit_account_id: int,
    amount: int,
    currency: str,
    pending_key: str | None,
    expires_at: datetime | None,
    reference: str | None,
    meta: str,
    created_at: datetime,
) -> tuple[Any, ...]:
    return (
        writer_id,
        seq,
        key,
        kind,
        debit_account_id,
        credit_account_id,
        amount,
        currency,
        pending_key,
        None if expires_at is None else _micros(expires_at),
        reference,
        meta,
        _micros(created_at),
    )


def row_fields(row: Any) -> tuple[Any, ...]:
    """The chained fields of a stored transfer row (meta as stored)."""
    return transfer_fields(
        writer_id=row.writer_id,
        seq=row.seq,
        key=row.key,
        kind=row.kind,
        debit_account_id=row.debit_account_id,
        credit_account_id=row.credit_account_id,
        amount=row.amount,
        currency=row.currency,
        pending_key=row.pending_key,
        expires_at=row.expires_at,
        reference=row.reference,
        meta=row.meta,
        created_at=row.created_at,
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    """Exact microseconds since the epoch (no float rounding)."""
    assert moment.tzinfo is not None
    return (moment - _EPOCH) // timedelta(microseconds=1)


__all__ = ["genesis", "link", "meta_json", "row_fields", "transfer_fields"]
