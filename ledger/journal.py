"""The journal's reads and writes for one batch, as plain driver SQL on a synchronous
`Connection` inside the batch's transaction (see `ledger.jobs` for where that runs), and the
hash chaining of what a batch accepted.

Driver SQL, not SQLAlchemy Core, on this path: the statements are constant text (cached per
placeholder style) and the rows plain tuples, so Core's per-statement compiling, cache keys
and per-row bind processing would be all overhead for hundreds of rows a commit. Operation
records (a few per batch) still go through Core.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Insert, Table, Update, and_, bindparam, insert, true, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ledger import chain, errors
from ledger.accounts import LIMITED_SHARD, AccountFlag
from ledger.batch import CX, DP, DX, Accepted, AccountState, BatchState, Outcome, PendingState
from ledger.chain import link
from ledger.clock import from_micros, micros
from ledger.money import AccountId, Fen
from ledger.schema import ledger_writers
from ledger.transfers import (
    RecordAdd,
    RecordInsert,
    RecordUpdate,
    Transaction,
    TransactionResult,
    Transfer,
    TransferRequest,
)

_LIMIT_FLAGS: Final = int(
    AccountFlag.DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlag.CREDITS_MUST_NOT_EXCEED_DEBITS
)

# The stored columns of a transfer: exactly the chained fields after the writer id (which
# leads them in the hash), then the hash.
TRANSFER_COLUMNS: Final = (
    "seq", "key", "kind", "debit_account_id", "credit_account_id", "amount", "currency",
    "pending_key", "expires_at_us", "reference", "meta", "created_at_us", "writer_id", "hash",
)  # fmt: skip
values_rows_max: Final = 512  # rows in one multi-row VALUES statement (SQLite)
_COUNTERS: Final = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")


def marks(paramstyle: str, count: int) -> list[str]:
    """Positional placeholders of the driver: sqlite3's `?`, asyncpg's `$n`."""
    if paramstyle == "qmark":
        return ["?"] * count
    if paramstyle == "numeric_dollar":
        return [f"${i}" for i in range(1, count + 1)]
    raise NotImplementedError(f"paramstyle {paramstyle}")


# -- chaining (pure) -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chained:
    """A batch's accepted transfers in their places in the writer's chain."""

    written: dict[str, Transfer]
    accepted: list[tuple[Transfer, ...]]  # per accepted transaction, in batch order
    rows: list[tuple[Any, ...]]  # TRANSFER_COLUMNS order
    head: str
    seq: int


def chain_batch(
    outcomes: Sequence[Outcome], *, writer_id: int, head: str, seq: int, now: datetime
) -> Chained:
    now_us = micros(now)
    written: dict[str, Transfer] = {}
    accepted: list[tuple[Transfer, ...]] = []
    rows: list[tuple[Any, ...]] = []
    for outcome in outcomes:
        if not isinstance(outcome, Accepted):
            continue
        transaction: list[Transfer] = []
        for (
            key, kind, debit, credit, amount, currency, pending_key, expires_at, reference,
            meta, meta_values,
        ) in outcome.transfers:  # fmt: skip
            seq += 1
            expires_us = None if expires_at is None else micros(expires_at)
            head = link(
                head, writer_id, seq, key, kind, debit, credit, amount, currency, pending_key,
                expires_us, reference, meta, now_us,
            )  # fmt: skip
            transfer = written[key] = Transfer(
                key, kind, debit, credit, Fen(amount), currency, pending_key, expires_at,
                reference, meta_values, now, writer_id, seq, head,
            )  # fmt: skip
            transaction.append(transfer)
            rows.append((
                seq, key, kind, debit, credit, amount, currency, pending_key, expires_us,
                reference, meta, now_us, writer_id, head,
            ))  # fmt: skip
        accepted.append(tuple(transaction))
    return Chained(written, accepted, rows, head, seq)


def results(
    outcomes: Sequence[Outcome], state: BatchState, chained: Chained
) -> list[TransactionResult]:
    answers: list[TransactionResult] = []
    accepted = iter(chained.accepted)
    written = chained.written
    for outcome in outcomes:
        if isinstance(outcome, Accepted):
            stored = next(accepted)
            answers.append(TransactionResult(stored, available=_available(state, stored)))
        elif isinstance(outcome, errors.LedgerError):
            answers.append(TransactionResult(error=outcome))
        else:
            found = tuple(state.existing.get(key) or written[key] for key in outcome.keys)
            answers.append(TransactionResult(found, replayed=True))
    return answers


def _available(state: BatchState, stored: tuple[Transfer, ...]) -> dict[AccountId, int]:
    """What the limited accounts of an accepted transaction may still have debited, as of
    the batch's end (balances are authoritative in the state for limited accounts)."""
    found: dict[AccountId, int] = {}
    accounts = state.accounts
    for transfer in stored:
        for account_id in (transfer.debit_account_id, transfer.credit_account_id):
            account = accounts.get(account_id)
            if account is not None and account.limit_debits:
                balance = account.balance
                found[account_id] = balance[CX] - balance[DX] - balance[DP]
    return found


# -- reads ----------------------------------------------------------------------------------


def load_state(conn: Connection, requests: Sequence[TransferRequest], now: datetime) -> BatchState:
    """Read what the batch touches. Order matters on PostgreSQL (READ COMMITTED): pending
    transfers are immutable and read first, to know every account; then the limited
    accounts' balance rows are locked; only then are existing keys and resolutions read, so
    whatever another writer committed on those accounts before we got the lock is seen (a
    duplicate answers as a replay, not as a refusal). Races on unlocked (hot-only) transfers
    are caught by the unique indexes and retried."""
    style = conn.dialect.paramstyle
    pending_keys = {r.pending_key for r in requests if r.pending_key is not None}
    pendings = _load_pendings(conn, pending_keys)
    account_ids: set[int] = set()
    for r in requests:
        account_ids.update(a for a in (r.debit_account_id, r.credit_account_id) if a is not None)
    for p in pendings.values():
        account_ids.update((p.debit_account_id, p.credit_account_id))
    states = _load_accounts(conn, account_ids)  # locks limited balances
    keys = {r.key for r in requests}
    existing: dict[str, Transfer] = {}
    resolved: set[str] = set()
    # the batch's own keys, and what already resolves the pending transfers it names
    sql = _select_known_sql(style, len(keys), len(pending_keys))
    for row in conn.exec_driver_sql(sql, (*keys, *pending_keys)):
        if row.key in keys:
            existing[row.key] = Transfer.from_row(row)
        if row.pending_key in pending_keys:
            resolved.add(row.pending_key)
    return BatchState(
        accounts=states,
        pendings={k: v for k, v in pendings.items() if k not in resolved},
        resolved=resolved,
        existing=existing,
        now=now,
    )


def _load_pendings(conn: Connection, keys: set[str]) -> dict[str, PendingState]:
    if not keys:
        return {}
    rows = conn.exec_driver_sql(_select_pendings_sql(conn.dialect.paramstyle, len(keys)), (*keys,))
    return {
        key: PendingState(
            key,
            AccountId(debit),
            AccountId(credit),
            amount,
            currency,
            None if expires_us is None else from_micros(expires_us),
            reference,
        )
        for key, debit, credit, amount, currency, expires_us, reference in rows
    }


def _load_accounts(conn: Connection, account_ids: Iterable[int]) -> dict[AccountId, AccountState]:
    """The accounts a batch touches, limited ones with their balance (locked on PostgreSQL)."""
    wanted = sorted(account_ids)
    if not wanted:
        return {}
    style = conn.dialect.paramstyle
    meta: Sequence[Any] = conn.exec_driver_sql(
        _select_accounts_sql(style, len(wanted)), tuple(wanted)
    ).fetchall()
    limited = sorted(account_id for account_id, _, flags in meta if flags & _LIMIT_FLAGS)
    balances: dict[int, list[int]] = {}
    if limited:
        lock = conn.dialect.name == "postgresql"
        rows = conn.exec_driver_sql(_select_balances_sql(style, len(limited), lock), (*limited,))
        for account_id, dp, dx, cp, cx in rows:
            balances[account_id] = [dp, dx, cp, cx]
    return {
        AccountId(account_id): AccountState.of(
            AccountId(account_id), currency, flags, balances.get(account_id, [0, 0, 0, 0])
        )
        for account_id, currency, flags in meta
    }


def any_stored(conn: Connection, keys: Sequence[str]) -> bool:
    """Whether a transfer with any of these keys exists."""
    if not keys:
        return False
    placeholders = ", ".join(marks(conn.dialect.paramstyle, len(keys)))
    sql = f"SELECT 1 FROM transfers WHERE key IN ({placeholders}) LIMIT 1"  # noqa: S608
    return conn.exec_driver_sql(sql, (*keys,)).first() is not None


def _select_pendings_sql(paramstyle: str, count: int) -> str:
    return (
        "SELECT key, debit_account_id, credit_account_id, amount, currency, expires_at_us,"  # noqa: S608
        f" reference FROM transfers WHERE kind = 'pending' AND key IN"
        f" ({', '.join(marks(paramstyle, count))})"
    )


def _select_known_sql(paramstyle: str, keys: int, pending_keys: int) -> str:
    placeholders = marks(paramstyle, keys + pending_keys)
    where = f"key IN ({', '.join(placeholders[:keys])})"
    if pending_keys:
        where += f" OR pending_key IN ({', '.join(placeholders[keys:])})"
    columns = ", ".join(("id", *TRANSFER_COLUMNS))
    return f"SELECT {columns} FROM transfers WHERE {where}"  # noqa: S608


def _select_accounts_sql(paramstyle: str, count: int) -> str:
    placeholders = ", ".join(marks(paramstyle, count))
    return f"SELECT id, currency, flags FROM accounts WHERE id IN ({placeholders})"  # noqa: S608


def _select_balances_sql(paramstyle: str, count: int, lock: bool) -> str:
    """Shard 0 of limited accounts, in id order (so lockers never wait on each other in a
    cycle), FOR UPDATE on PostgreSQL (SQLite's BEGIN IMMEDIATE already excludes writers)."""
    placeholders = ", ".join(marks(paramstyle, count))
    return (
        f"SELECT account_id, {', '.join(_COUNTERS)}"  # noqa: S608
        f" FROM account_balances WHERE shard = {LIMITED_SHARD} AND account_id IN ({placeholders})"
        f" ORDER BY account_id{' FOR UPDATE' if lock else ''}"
    )


# -- writes ---------------------------------------------------------------------------------


def write_batch(
    conn: Connection,
    *,
    writer_id: int,
    shard: int,
    chained: Chained,
    state: BatchState,
    batch: Sequence[Transaction],
    outcomes: Sequence[Outcome],
) -> None:
    """Everything a batch accepted, in its transaction: transfers, balance deltas, the
    operation records riding with accepted transactions, and the chain's new head."""
    style = conn.dialect.paramstyle
    if chained.rows and conn.dialect.name == "sqlite":
        _values(conn, _insert_transfers_sql, chained.rows)
        deltas = [
            (account_id, shard if state.accounts[account_id].hot else LIMITED_SHARD, *delta)
            for account_id, delta in sorted(state.deltas.items())
        ]
        _values(conn, _add_to_shard_sql, deltas)
    elif chained.rows:
        conn.exec_driver_sql(_insert_transfers_sql(style), chained.rows)
        limited: list[tuple[int, ...]] = []
        hot: list[tuple[int, ...]] = []
        for account_id, delta in sorted(state.deltas.items()):
            if state.accounts[account_id].hot:
                hot.append((account_id, shard, *delta))
            else:
                limited.append((*delta, account_id, LIMITED_SHARD))
        if limited:
            conn.exec_driver_sql(_add_to_balance_sql(style), limited)
        if hot:
            conn.exec_driver_sql(_add_to_shard_sql(style), hot)
    _write_records(conn, batch, outcomes)
    if chained.rows:
        conn.exec_driver_sql(_set_head_sql(style), (chained.seq, chained.head, writer_id))


def _values(
    conn: Connection, sql: Callable[[str, int], str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Rows as multi-row VALUES statements of power-of-two sizes (a few statement texts, all
    cached), instead of executemany: sqlite3 gives up and takes back the GIL around every
    row it steps, and a thread taking the GIL back from a busy event loop waits for it —
    per statement that wait is paid once, not once per row. (Alone it is faster too.)"""
    style, start = conn.dialect.paramstyle, 0
    while start < len(rows):
        size = min(values_rows_max, 1 << ((len(rows) - start).bit_length() - 1))
        chunk = rows[start : start + size]
        conn.exec_driver_sql(sql(style, size), tuple(itertools.chain.from_iterable(chunk)))
        start += size


class GuardRefused(Exception):
    """A `RecordAdd` of the batch's transaction at `position` would pass its cap: the batch's
    database transaction must be rolled back and done again without that transaction."""

    def __init__(self, position: int, limit: str) -> None:
        super().__init__(f"transaction {position} of the batch: limit {limit!r} reached")
        self.position = position
        self.limit = limit


def _write_records(
    conn: Connection, batch: Sequence[Transaction], outcomes: Sequence[Outcome]
) -> None:
    inserts: dict[Any, list[dict[str, Any]]] = {}
    for position, (tx, outcome) in enumerate(zip(batch, outcomes, strict=True)):
        if not isinstance(outcome, Accepted):
            continue
        for record in tx.records:
            if isinstance(record, RecordInsert):
                inserts.setdefault(record.table, []).append(dict(record.values))
            elif isinstance(record, RecordUpdate):
                statement = _update_statement(record.table, record.key_column, tuple(record.values))
                conn.execute(statement, {**record.values, "_key": record.key_value})
            elif not _add_under_caps(conn, record):
                raise GuardRefused(position, record.limit)
    for table, rows in inserts.items():
        conn.execute(insert(table), rows)


def _add_under_caps(conn: Connection, record: RecordAdd) -> bool:
    """One guarded upsert: the row is created with the increments, or they are added to it
    only while every capped column stays within its cap. Whether it happened is the row count
    (0 when the guard held the row back), read inside the same transaction."""
    if not record.fits_alone():
        return False
    statement = _add_statement(
        conn.dialect.name, record.table, tuple(record.key), tuple(record.add), tuple(record.caps)
    )
    params = {
        **record.key,
        **record.add,
        **{f"_cap_{column}": cap for column, cap in record.caps.items()},
    }
    return conn.execute(statement, params).rowcount == 1


# Statements of records, built once per shape: building one (and its cache key) per record
# cost about 0.1 ms each on the writer's thread, a third of a top-up batch's commit (measured).
@functools.lru_cache(maxsize=64)
def _update_statement(table: Table, key_column: str, columns: tuple[str, ...]) -> Update:
    return (
        update(table)
        .where(table.c[key_column] == bindparam("_key"))
        .values({column: bindparam(column) for column in columns})
    )


@functools.lru_cache(maxsize=64)
def _add_statement(
    dialect: str,
    table: Table,
    keys: tuple[str, ...],
    adds: tuple[str, ...],
    caps: tuple[str, ...],
) -> Insert:
    upsert = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)
    values: dict[str, Any] = {column: bindparam(column) for column in (*keys, *adds)}
    return upsert.values(values).on_conflict_do_update(
        index_elements=list(keys),
        set_={column: table.c[column] + upsert.excluded[column] for column in adds},
        where=and_(
            true(),
            *(
                table.c[column] + upsert.excluded[column] <= bindparam(f"_cap_{column}")
                for column in caps
            ),
        ),
    )


def register_writer(conn: Connection, label: str, now: datetime) -> int:
    """A new chain: its row in `ledger_writers` (head = genesis), answered by id."""
    result = conn.execute(
        insert(ledger_writers).values(label=label[:128], started_at=now, last_seq=0, last_hash="")
    )
    assert result.inserted_primary_key is not None
    writer_id = int(result.inserted_primary_key[0])
    conn.execute(
        update(ledger_writers)
        .where(ledger_writers.c.id == writer_id)
        .values(last_hash=chain.genesis(writer_id))
    )
    return writer_id


def _rows(paramstyle: str, width: int, count: int) -> str:
    """`(…), (…)`: placeholders for `count` rows of `width` values."""
    placeholders = marks(paramstyle, width * count)
    return ", ".join(
        f"({', '.join(placeholders[i : i + width])})" for i in range(0, len(placeholders), width)
    )


@functools.cache
def _insert_transfers_sql(paramstyle: str, count: int = 1) -> str:
    columns = ", ".join(TRANSFER_COLUMNS)
    values = _rows(paramstyle, len(TRANSFER_COLUMNS), count)
    return f"INSERT INTO transfers ({columns}) VALUES {values}"  # noqa: S608


@functools.cache
def _add_to_balance_sql(paramstyle: str) -> str:
    """Add four deltas to one limited balance row; executemany'd with tuples."""
    dp, dx, cp, cx, account, shard = marks(paramstyle, 6)
    return (
        f"UPDATE account_balances SET debits_pending = debits_pending + {dp},"  # noqa: S608
        f" debits_posted = debits_posted + {dx}, credits_pending = credits_pending + {cp},"
        f" credits_posted = credits_posted + {cx}"
        f" WHERE account_id = {account} AND shard = {shard}"
    )


@functools.cache
def _add_to_shard_sql(paramstyle: str, count: int = 1) -> str:
    """Add four deltas to balance rows (account, shard, then the deltas), creating a hot
    account's shard row on first use (the same upsert syntax on SQLite and PostgreSQL)."""
    added = ", ".join(f"{c} = account_balances.{c} + excluded.{c}" for c in _COUNTERS)
    return (
        f"INSERT INTO account_balances (account_id, shard, {', '.join(_COUNTERS)})"  # noqa: S608
        f" VALUES {_rows(paramstyle, 6, count)}"
        f" ON CONFLICT (account_id, shard) DO UPDATE SET {added}"
    )


@functools.cache
def _set_head_sql(paramstyle: str) -> str:
    seq, head, writer = marks(paramstyle, 3)
    return f"UPDATE ledger_writers SET last_seq = {seq}, last_hash = {head} WHERE id = {writer}"  # noqa: S608


__all__ = [
    "TRANSFER_COLUMNS",
    "Chained",
    "any_stored",
    "chain_batch",
    "load_state",
    "marks",
    "register_writer",
    "results",
    "write_batch",
]
