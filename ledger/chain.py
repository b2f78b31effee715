"""Hash chains over the journal: each writer's transfers, in `seq` order, each hash covering
the previous hash and every field that carries meaning (accounts, amount, kind, keys,
reference, metadata, time). Changing, dropping or reordering a stored transfer breaks it."""

from __future__ import annotations

import hashlib
from typing import Any


def genesis(writer_id: int) -> str:
    return hashlib.sha256(f"aircharge-ledger-writer:{writer_id}".encode()).hexdigest()


def link(previous: str, fields: tuple[Any, ...]) -> str:
    canonical = "\x1f".join(["" if value is None else str(value) for value in fields])
    return hashlib.sha256(f"{previous}\x1e{canonical}".encode()).hexdigest()


def transfer_fields(
    writer_id: int,
    seq: int,
    key: str,
    kind: str,
    debit_account_id: int,
    credit_account_id: int,
    amount: int,
    currency: str,
    pending_key: str | None,
    expires_at_us: int | None,
    reference: str | None,
    meta: str,
    created_at_us: int,
) -> tuple[Any, ...]:
    """The chained fields, in their order (the journal's writer calls this positionally, on
    its hot path; `row_fields` by name)."""
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
        expires_at_us,
        reference,
        meta,
        created_at_us,
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
        expires_at_us=row.expires_at_us,
        reference=row.reference,
        meta=row.meta,
        created_at_us=row.created_at_us,
    )


__all__ = [
    "genesis",
    "link",
    "row_fields",
    "transfer_fields",
]
