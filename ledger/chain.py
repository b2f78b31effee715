"""Hash chains over the journal: each writer's transfers, in `seq` order, each hash covering
the previous hash and every field that carries meaning (accounts, amount, kind, keys,
reference, metadata, time). Changing, dropping or reordering a stored transfer breaks it."""

from __future__ import annotations

import hashlib
from typing import Any


def genesis(writer_id: int) -> str:
    return hashlib.sha256(f"aircharge-ledger-writer:{writer_id}".encode()).hexdigest()


def link(
    previous: str,
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
) -> str:
    """The hash of a transfer after `previous`: SHA-256 of the previous hash, 0x1E, then the
    chained fields in this order joined by 0x1F, absent ones as empty text. (One f-string,
    not a join over a tuple: this runs once per transfer on the writer's hot path.)"""
    return hashlib.sha256(
        f"{previous}\x1e{writer_id}\x1f{seq}\x1f{key}\x1f{kind}\x1f{debit_account_id}"
        f"\x1f{credit_account_id}\x1f{amount}\x1f{currency}"
        f"\x1f{'' if pending_key is None else pending_key}"
        f"\x1f{'' if expires_at_us is None else expires_at_us}"
        f"\x1f{'' if reference is None else reference}\x1f{meta}\x1f{created_at_us}".encode()
    ).hexdigest()


def link_row(previous: str, row: Any) -> str:
    """`link` over a stored transfer row (meta as stored)."""
    return link(
        previous,
        row.writer_id,
        row.seq,
        row.key,
        row.kind,
        row.debit_account_id,
        row.credit_account_id,
        row.amount,
        row.currency,
        row.pending_key,
        row.expires_at_us,
        row.reference,
        row.meta,
        row.created_at_us,
    )


__all__ = ["genesis", "link", "link_row"]
