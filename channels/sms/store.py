"""The SMS channel's SQL: batch writes (run inside one `Batcher` transaction) and the few
direct queries of the hot path. Every statement here is served by an index of
`channels.schema`."""

from __future__ import annotations

import functools
import itertools
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, TypeVar

from sqlalchemy import (
    BigInteger,
    Connection,
    Row,
    String,
    Table,
    bindparam,
    case,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.schema import sms_confirmations, sms_mo, sms_mt, sms_mt_parts, sms_reply_counts
from channels.sms.records import (
    APPLIED_OUTCOMES,
    REDELIVERY,
    Finish,
    Finished,
    NewMo,
    Reply,
    StoredMo,
)
from channels.sms.sealed import Claim
from ledger.sqlite import LoopReader, reader

T = TypeVar("T")

values_rows_max: Final = 128  # rows in one multi-row INSERT on SQLite (13 values a row at most)


@dataclass(frozen=True, slots=True)
class Accepted:
    id: int
    state: str  # received | ignored
    outcome: str | None


def _chunks(rows: Sequence[T]) -> Iterator[Sequence[T]]:
    """`rows` in power-of-two runs of at most `values_rows_max`: a few statement texts, each
    compiled once (by SQLite's statement cache too)."""
    start = 0
    while start < len(rows):
        size = min(values_rows_max, 1 << ((len(rows) - start).bit_length() - 1))
        yield rows[start : start + size]
        start += size


@functools.cache
def _insert_sql(table: str, columns: tuple[str, ...], count: int, returning: bool) -> str:
    row = f"({', '.join('?' * len(columns))})"
    values = ", ".join([row] * count)
    tail = " RETURNING id" if returning else ""
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}{tail}"  # noqa: S608


def _insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *,
            ids: bool) -> list[int]:  # fmt: skip
    """Insert `rows` (dicts with the same keys, in the same order); with `ids`, the new rows'
    ids in the order of `rows`.

    On SQLite, one multi-row VALUES statement per at most `values_rows_max` rows, in
    power-of-two sizes (a few statement texts, all cached). SQLAlchemy would send an
    INSERT … RETURNING with `sort_by_parameter_order` one row at a time there (SQLite does
    not promise the order of RETURNING rows), and an executemany takes the GIL back around
    every row. The ids come back sorted: one statement numbers its rows in VALUES order, each
    the largest rowid so far plus one (an INTEGER PRIMARY KEY without AUTOINCREMENT), under
    the transaction's write lock, so they are one run of consecutive ids; checked (the batch
    fails otherwise, and its MOs are not acknowledged: the SMSC delivers them again).
    Elsewhere (PostgreSQL), SQLAlchemy's insertmanyvalues already sends few statements."""
    if not rows:
        return []
    if conn.dialect.name != "sqlite":
        if not ids:
            conn.execute(insert(table), list(rows))
            return []
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return [int(i) for i in conn.execute(statement, list(rows)).scalars().all()]
    columns = tuple(rows[0])
    found: list[int] = []
    for chunk in _chunks(rows):
        if any(tuple(row) != columns for row in chunk):  # the values are laid out by key order
            raise ValueError(f"{table.name}: rows with other keys than {columns}")
        params = tuple(itertools.chain.from_iterable(row.values() for row in chunk))
        result = conn.exec_driver_sql(_insert_sql(table.name, columns, len(chunk), ids), params)
        if ids:
            new = sorted(int(i) for (i,) in result.all())
            if len(new) != len(chunk) or new[-1] - new[0] != len(chunk) - 1:
                # Not an assert: under `python -O` a wrong pairing of ids and rows would pass.
                raise RuntimeError(
                    f"{table.name}: new ids {new[:3]}… are not one run of {len(chunk)}"
                )
            found.extend(new)
    return found


ClaimCounter = Callable[[Connection, Claim], str | None]


def write_mos(
    conn: Connection,
    items: Sequence[NewMo],
    window_ms: int,
    claim: ClaimCounter | None = None,
) -> list[Accepted]:
    """Store a batch of MOs; a re-delivery (same link, sender, reference and text inside the
    window, earlier or in this batch) is stored `ignored` and never processed. A sealed
    answer's counter is claimed here (`claim`, in this transaction): refused, the MO is
    stored `ignored` with the reason as its outcome."""
    digests = {item.delivery_digest for item in items if item.delivery_digest is not None}
    seen: dict[str, int] = {}
    if digests:
        since = min(item.message.received_ms for item in items) - window_ms
        query = select(sms_mo.c.delivery_digest, sms_mo.c.received_ms).where(
            sms_mo.c.delivery_digest.in_(digests), sms_mo.c.received_ms >= since
        )
        for digest, received_ms in conn.execute(query).all():
            seen[digest] = max(seen.get(digest, received_ms), received_ms)
    rows = []
    for item in items:
        message, state, outcome = item.message, "received", item.ignored
        digest = item.delivery_digest
        if digest is not None and message.received_ms - seen.get(digest, -window_ms - 1) <= (
            window_ms
        ):
            outcome = REDELIVERY
        if outcome is None and item.claim is not None:
            if claim is None:
                raise RuntimeError("a sealed answer to store, and no intake to claim it")
            outcome = claim(conn, item.claim)
        if outcome is not None:
            state = "ignored"
        if digest is not None:
            seen[digest] = max(seen.get(digest, message.received_ms), message.received_ms)
        rows.append(
            {
                "link": message.link,
                "sender": message.sender[:32],
                "sender_ton": message.sender_ton,
                "recipient": message.recipient[:32],
                "text": item.masked_text,
                "reference": message.reference,
                "command": item.command if state == "received" else None,
                "content_digest": item.content_digest if state == "received" else None,
                "delivery_digest": digest,
                "state": state,
                "outcome": outcome,
                "received_ms": message.received_ms,
                "processed_ms": None,
            }
        )
    ids = _insert(conn, sms_mo, rows, ids=True)
    return [Accepted(id, row["state"], row["outcome"]) for id, row in zip(ids, rows, strict=True)]


async def pending_mos(engine: AsyncEngine, after_id: int, limit: int) -> list[StoredMo]:
    """MOs stored and not processed (a crash between the ack and processing), oldest first."""
    query = (
        select(sms_mo.c.id, sms_mo.c.command, sms_mo.c.content_digest, sms_mo.c.received_ms)
        .where(sms_mo.c.state == "received", sms_mo.c.id > after_id)
        .order_by(sms_mo.c.id)
        .limit(limit)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [StoredMo(row.id, "", row.command, row.content_digest, row.received_ms) for row in rows]


# Built once, as the sale's read is (`ledger.operations.sale_reads`): building the select for
# every money MO cost more than running it. The MO's values are bound parameters.
_REPEATS: Final = (
    select(sms_mo.c.id)
    .where(
        sms_mo.c.content_digest == bindparam("digest", type_=String),
        sms_mo.c.received_ms >= bindparam("since_ms", type_=BigInteger),
        sms_mo.c.id < bindparam("mo_id", type_=BigInteger),
        or_(sms_mo.c.state == "received", sms_mo.c.outcome.in_(APPLIED_OUTCOMES)),
    )
    .limit(1)
)


def _repeats_params(mo: StoredMo, window_ms: int) -> dict[str, object]:
    assert mo.content_digest is not None
    return {"digest": mo.content_digest, "since_ms": mo.received_ms - window_ms, "mo_id": mo.id}


# The same read as statement text for the loop's own SQLite connection: through SQLAlchemy's
# statement machinery it cost twice the read itself, and it is asked for every money MO.
_OUTCOMES: Final = tuple(sorted(APPLIED_OUTCOMES))
_REPEATS_SQLITE: Final = (
    "SELECT id FROM sms_mo WHERE content_digest = ? AND received_ms >= ? AND id < ?"  # noqa: S608
    f" AND (state = 'received' OR outcome IN ({', '.join('?' * len(_OUTCOMES))})) LIMIT 1"
)


def _repeats_now(conn: Connection, params: Mapping[str, object]) -> bool:
    values = (params["digest"], params["since_ms"], params["mo_id"], *_OUTCOMES)
    return conn.exec_driver_sql(_REPEATS_SQLITE, values).first() is not None


async def repeats_earlier(
    engine: AsyncEngine, loop_reads: LoopReader | None, mo: StoredMo, window_ms: int
) -> bool:
    """Whether an earlier MO of the same sender and command inside the window ran (or is
    still running) its operation. Asked for every money MO: on a SQLite file it reads on the
    loop's own thread (`ledger.sqlite.LoopReader`), elsewhere without the write lock."""
    params = _repeats_params(mo, window_ms)
    if loop_reads is not None:
        return loop_reads.run(lambda conn: _repeats_now(conn, params))
    async with reader(engine).connect() as conn:
        return (await conn.execute(_REPEATS, params)).first() is not None


async def take_confirmation(
    engine: AsyncEngine, sender: str, code_hash: str, now_ms: int
) -> str | None:
    """The command a valid, unused code confirms, spending the code (once, whoever races)."""
    statement = (
        update(sms_confirmations)
        .where(
            sms_confirmations.c.sender == sender,
            sms_confirmations.c.code_hash == code_hash,
            sms_confirmations.c.used.is_(False),
            sms_confirmations.c.expires_ms > now_ms,
        )
        .values(used=True)
        .returning(sms_confirmations.c.command)
    )
    async with engine.begin() as conn:
        command = (await conn.execute(statement)).scalars().first()
    return None if command is None else str(command)


def _count_replies(conn: Connection, added: Mapping[str, int], day: date) -> dict[str, int]:
    """Add replies to each number's count of the day, atomically, in one statement; the new
    counts. (Each number once per statement: PostgreSQL would refuse a row hit twice.)"""
    rows = [{"msisdn": msisdn, "day": day, "count": n} for msisdn, n in sorted(added.items())]
    if conn.dialect.name == "sqlite":
        return _count_replies_sqlite(conn, rows)
    keys = [sms_reply_counts.c.msisdn, sms_reply_counts.c.day]
    statement = postgresql.insert(sms_reply_counts).values(rows)
    upsert = statement.on_conflict_do_update(
        index_elements=keys, set_={"count": sms_reply_counts.c.count + statement.excluded.count}
    )
    returned = conn.execute(upsert.returning(sms_reply_counts.c.msisdn, sms_reply_counts.c.count))
    return {str(msisdn): int(count) for msisdn, count in returned.all()}


@functools.cache
def _count_replies_sql(count: int) -> str:
    values = ", ".join(["(?, ?, ?)"] * count)
    return (
        f"INSERT INTO sms_reply_counts (msisdn, day, count) VALUES {values}"  # noqa: S608
        " ON CONFLICT (msisdn, day) DO UPDATE SET count = sms_reply_counts.count + excluded.count"
        " RETURNING msisdn, count"
    )


def _count_replies_sqlite(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """The same upsert as statement text in power-of-two sizes: SQLAlchemy compiled a
    multi-row upsert afresh for every batch. The day as SQLAlchemy's `Date` stores it on
    SQLite (ISO 8601)."""
    counts: dict[str, int] = {}
    for chunk in _chunks(rows):
        params = tuple(
            itertools.chain.from_iterable(
                (row["msisdn"], row["day"].isoformat(), row["count"]) for row in chunk
            )
        )
        for msisdn, count in conn.exec_driver_sql(_count_replies_sql(len(chunk)), params):
            counts[str(msisdn)] = int(count)
    return counts


def _mark_processed(conn: Connection, by_id: Mapping[int, Finish]) -> set[int]:
    """Mark MOs processed with their outcomes, in one statement (on SQLite one per chunk);
    the ids that were still open (a recovery or another process may have finished some
    first)."""
    if conn.dialect.name == "sqlite":
        return _mark_processed_sqlite(conn, list(by_id.values()))
    finished = conn.execute(
        update(sms_mo)
        .where(sms_mo.c.id.in_(by_id), sms_mo.c.state == "received")
        .values(
            state="processed",
            outcome=case({i: item.outcome for i, item in by_id.items()}, value=sms_mo.c.id),
            processed_ms=case(
                {i: item.processed_ms for i, item in by_id.items()}, value=sms_mo.c.id
            ),
        )
        .returning(sms_mo.c.id)
    )
    return {int(i) for i in finished.scalars().all()}


@functools.cache
def _mark_processed_sql(count: int) -> str:
    whens = " ".join(["WHEN ? THEN ?"] * count)
    return (
        f"UPDATE sms_mo SET state = 'processed', outcome = CASE id {whens} END,"  # noqa: S608
        f" processed_ms = CASE id {whens} END"
        f" WHERE id IN ({', '.join('?' * count)}) AND state = 'received' RETURNING id"
    )


def _mark_processed_sqlite(conn: Connection, items: Sequence[Finish]) -> set[int]:
    """The same statement as text in power-of-two sizes: SQLAlchemy compiled its CASE afresh
    for every batch size it had not met."""
    open_ids: set[int] = set()
    for chunk in _chunks(items):
        params = (
            *itertools.chain.from_iterable((item.mo_id, item.outcome) for item in chunk),
            *itertools.chain.from_iterable((item.mo_id, item.processed_ms) for item in chunk),
            *(item.mo_id for item in chunk),
        )
        result = conn.exec_driver_sql(_mark_processed_sql(len(chunk)), params)
        open_ids.update(int(i) for (i,) in result.all())
    return open_ids


def write_finishes(
    conn: Connection, items: Sequence[Finish], day: date, replies_per_day_max: int
) -> list[Finished]:
    """Mark MOs processed, count their replies against the daily cap, queue the replies and
    store the confirmations they offer; an MO already processed gets nothing a second time."""
    open_ids = _mark_processed(conn, {item.mo_id: item for item in items})
    live = [item for item in items if item.mo_id in open_ids]
    if not live:
        return [Finished(False, None, False) for _ in items]
    wanted = Counter(item.reply.recipient for item in live if item.reply is not None)
    allowance: dict[str, int] = {}
    if wanted:
        totals = _count_replies(conn, wanted, day)
        for msisdn, added in wanted.items():
            allowance[msisdn] = max(0, replies_per_day_max - (totals[msisdn] - added))
    confirmations = [
        {
            "sender": c.sender,
            "code_hash": c.code_hash,
            "mo_id": item.mo_id,
            "command": c.command,
            "created_ms": item.processed_ms,
            "expires_ms": c.expires_ms,
            "used": False,
        }
        for item in live
        if (c := item.confirmation) is not None
    ]
    _insert(conn, sms_confirmations, confirmations, ids=False)
    results: dict[int, Finished] = {}
    queued: list[tuple[int, dict[str, object]]] = []
    for item in live:
        reply = item.reply
        if reply is None:
            results[item.mo_id] = Finished(True, None, False)
            continue
        if allowance[reply.recipient] <= 0:
            results[item.mo_id] = Finished(True, None, True)
            continue
        allowance[reply.recipient] -= 1
        queued.append((item.mo_id, _mt_row(reply, item.mo_id, item.processed_ms)))
    if queued:
        mt_ids = _insert_mts(conn, [row for _, row in queued])
        for (mo_id, _), mt_id in zip(queued, mt_ids, strict=True):
            results[mo_id] = Finished(True, mt_id, False)
    return [results.get(item.mo_id, Finished(False, None, False)) for item in items]


def _mt_row(reply: Reply, mo_id: int | None, now_ms: int) -> dict[str, object]:
    return {
        "recipient": reply.recipient,
        "text": reply.stored_text,
        "kind": reply.kind,
        "mo_id": mo_id,
        "state": "queued",
        "receipt": reply.receipt,
        "attempts": 0,
        "reason": None,
        "created_ms": now_ms,
        "updated_ms": now_ms,
    }


def _insert_mts(conn: Connection, rows: list[dict[str, object]]) -> list[int]:
    return _insert(conn, sms_mt, rows, ids=True)


@dataclass(frozen=True, slots=True)
class NewMt:
    reply: Reply
    now_ms: int


def write_mts(conn: Connection, items: Sequence[NewMt]) -> list[int]:
    """Queue MTs that answer no MO (notices, codes); their outbox ids."""
    return _insert_mts(conn, [_mt_row(item.reply, None, item.now_ms) for item in items])


@dataclass(frozen=True, slots=True)
class MtUpdate:
    """What one submission attempt did to an MT."""

    id: int
    state: str
    attempts: int
    reason: str | None
    message_ids: tuple[str, ...]  # parts to match receipts against (only when asked)
    now_ms: int


# The outbox's statements, built once (their values are bound parameters): built for every
# batch, each cost its cache key's computation on the writer thread before it could run.
_MT_UPDATE: Final = (
    update(sms_mt)
    .where(sms_mt.c.id == bindparam("b_id"))
    .values(
        state=bindparam("b_state"),
        attempts=bindparam("b_attempts"),
        reason=bindparam("b_reason"),
        updated_ms=bindparam("b_ms"),
    )
)
_PARTS_OF_MTS: Final = select(
    sms_mt_parts.c.message_id, sms_mt_parts.c.mt_id, sms_mt_parts.c.state
).where(
    sms_mt_parts.c.mt_id.in_(
        select(sms_mt_parts.c.mt_id).where(
            sms_mt_parts.c.message_id.in_(bindparam("message_ids", expanding=True))
        )
    )
)
_PART_STATE: Final = (
    update(sms_mt_parts)
    .where(sms_mt_parts.c.message_id == bindparam("b_id"))
    .values(state=bindparam("b_state"))
)
_MT_FINAL: Final = (
    update(sms_mt)
    .where(sms_mt.c.id == bindparam("b_id"), sms_mt.c.state == "submitted")
    .values(state=bindparam("b_state"), updated_ms=bindparam("b_ms"))
)


def write_mt_updates(conn: Connection, items: Sequence[MtUpdate]) -> list[None]:
    conn.execute(
        _MT_UPDATE,
        [
            {
                "b_id": i.id,
                "b_state": i.state,
                "b_attempts": i.attempts,
                "b_reason": None if i.reason is None else i.reason[:64],
                "b_ms": i.now_ms,
            }
            for i in items
        ],
    )
    parts = [
        {"message_id": message_id[:64], "mt_id": i.id, "state": None, "created_ms": i.now_ms}
        for i in items
        for message_id in i.message_ids
    ]
    _insert(conn, sms_mt_parts, parts, ids=False)
    return [None for _ in items]


@dataclass(frozen=True, slots=True)
class ReceiptUpdate:
    message_id: str
    state: str  # DELIVRD, UNDELIV, EXPIRED, REJECTD, ...
    now_ms: int


DELIVERED: Final = "DELIVRD"
EXPIRED: Final = "EXPIRED"
FINAL_FAILURES: Final = frozenset({"UNDELIV", "REJECTD", "DELETED", "UNKNOWN", EXPIRED})


def write_receipts(conn: Connection, items: Sequence[ReceiptUpdate]) -> list[bool]:
    """Record receipts on their parts; an MT whose parts are all DELIVRD is delivered, one
    with any final failure failed (EXPIRED: expired). False for a receipt matching no part.

    Three statements a batch: every part of the MTs the receipts touch (one read), the
    receipts' parts updated, the MTs that reached a final state updated."""
    ids = sorted({item.message_id for item in items})
    parts: dict[str, tuple[int, str | None]] = {
        message_id: (mt_id, state)
        for message_id, mt_id, state in conn.execute(_PARTS_OF_MTS, {"message_ids": ids})
    }
    known = [item for item in items if item.message_id in parts]
    if not known:
        return [False for _ in items]
    latest = {item.message_id: item.state[:16] for item in known}  # the last receipt wins
    conn.execute(
        _PART_STATE,
        [{"b_id": message_id, "b_state": state} for message_id, state in latest.items()],
    )
    states: dict[int, list[str | None]] = {}
    for message_id, (mt_id, state) in parts.items():
        states.setdefault(mt_id, []).append(latest.get(message_id, state))
    now_ms = max(item.now_ms for item in items)
    finals = [
        {"b_id": mt_id, "b_state": final, "b_ms": now_ms}
        for mt_id in sorted({parts[item.message_id][0] for item in known})
        if (final := _mt_state(states[mt_id])) is not None
    ]
    if finals:
        conn.execute(_MT_FINAL, finals)
    return [item.message_id in parts for item in items]


OutboxWrite = NewMt | MtUpdate | ReceiptUpdate
OutboxResult = int | bool | None  # an MT's id, a receipt's match, nothing for an update


def write_outbox(conn: Connection, items: Sequence[OutboxWrite]) -> list[OutboxResult]:
    """The outbox's writes of one batch in one transaction (one job, one commit, where three
    queues each had their own): new MTs, then attempts' updates, then receipts — a receipt
    may follow its submit_sm_resp at once, so the part rows it matches are written first.
    Each item's result in its place. A failure fails the whole batch, as before each
    kind's."""
    results: list[OutboxResult] = [None] * len(items)
    new = [(i, item) for i, item in enumerate(items) if isinstance(item, NewMt)]
    updates = [(i, item) for i, item in enumerate(items) if isinstance(item, MtUpdate)]
    receipts = [(i, item) for i, item in enumerate(items) if isinstance(item, ReceiptUpdate)]
    assert len(new) + len(updates) + len(receipts) == len(items), "every item has a kind"
    if new:
        for (i, _), mt_id in zip(new, write_mts(conn, [it for _, it in new]), strict=True):
            results[i] = mt_id
    if updates:
        write_mt_updates(conn, [item for _, item in updates])
    if receipts:
        matched = write_receipts(conn, [item for _, item in receipts])
        for (i, _), found in zip(receipts, matched, strict=True):
            results[i] = found
    return results


def _mt_state(part_states: Sequence[str | None]) -> str | None:
    if any(state in FINAL_FAILURES for state in part_states):
        return "expired" if all(s in (EXPIRED, DELIVERED, None) for s in part_states) else "failed"
    if part_states and all(state == DELIVERED for state in part_states):
        return "delivered"
    return None


async def queued_mts(engine: AsyncEngine, after_id: int, limit: int) -> list[Row[Any]]:
    query = (
        select(sms_mt)
        .where(sms_mt.c.state == "queued", sms_mt.c.id > after_id)
        .order_by(sms_mt.c.id)
        .limit(limit)
    )
    async with engine.connect() as conn:
        return list((await conn.execute(query)).all())


async def purge_parts(engine: AsyncEngine, older_than_ms: int) -> int:
    async with engine.begin() as conn:
        result = await conn.execute(
            delete(sms_mt_parts).where(sms_mt_parts.c.created_ms < older_than_ms)
        )
    return int(result.rowcount)
