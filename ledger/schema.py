"""Tables of the ledger: accounts and their balances, immutable hash-chained transfers,
writers, agents and operation outcomes.

One SQLAlchemy MetaData for the ledger; the composition root's Alembic history creates it
together with the channels' tables. Amounts are BIGINT fen; the four balance counters follow
TigerBeetle (debits/credits, pending/posted).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

# SQLite only aliases rowid for INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("flags", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Balances live apart from the account: a limited account has one row (shard 0), locked by
# the writer that changes it; a hot platform account has one row per writer shard, each
# writer adding to its own, so no writer waits on another for BOSS clearing and the like.
# An account's balance is the sum of its rows.
account_balances = Table(
    "account_balances",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id"), primary_key=True),
    Column("shard", SmallInteger, primary_key=True),
    Column("debits_pending", BigInteger, nullable=False),
    Column("debits_posted", BigInteger, nullable=False),
    Column("credits_pending", BigInteger, nullable=False),
    Column("credits_posted", BigInteger, nullable=False),
)

# One hash chain per writer (a LedgerWriter instance): its transfers carry consecutive `seq`
# and each `hash` covers the previous one; the head is kept here too, so a deleted tail shows.
ledger_writers = Table(
    "ledger_writers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("label", String(128), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
)

transfers = Table(
    "transfers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(160), nullable=False, unique=True),  # callers' keys: at most 128
    Column("kind", String(8), nullable=False),
    Column("debit_account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("credit_account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    # A post, void or expiry names the pending transfer it resolves; unique: it resolves once.
    Column("pending_key", String(128), nullable=True, unique=True),
    Column("expires_at_us", BigInteger, nullable=True),  # µs since the epoch (ledger.clock)
    Column("reference", String(64), nullable=True, index=True),
    Column("meta", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("writer_id", Id, ForeignKey("ledger_writers.id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("writer_id", "seq", name="uq_transfers_writer_seq"),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("kind IN ('single', 'pending', 'post', 'void', 'expire')", name="kind_known"),
)

agents = Table(
    "agents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("msisdn", String(15), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("parent_id", Id, ForeignKey("agents.id"), nullable=True),
    Column("status", String(16), nullable=False),
    Column("pin_hash", String(160), nullable=False),  # ledger.pins: v2$<key id>$<salt>$<mac>
    Column("pin_failures", Integer, nullable=False, server_default="0"),
    Column("pin_locked_until", UtcDateTime, nullable=True),
    Column("language", String(8), nullable=False),
    Column("deposit_account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("commission_account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("level IN (1, 2, 3)", name="level_known"),
)

# What an operation's outcome record may say: `reserved` (held, BOSS not yet answered),
# `posted`, `failed` (voided), `unknown` (the resolver asks BOSS), `manual` (a person decides),
# `suspense` (money arrived for nobody known), `reversed` (a posted sale taken back).
OPERATION_STATES = ("reserved", "posted", "failed", "unknown", "manual", "suspense", "reversed")
OPERATION_STATES_SQL = ", ".join(f"'{state}'" for state in OPERATION_STATES)

operations = Table(
    "operations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("ref", String(32), nullable=False, unique=True),
    Column("key", String(128), nullable=False, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("agent_id", Id, ForeignKey("agents.id"), nullable=True),
    Column("msisdn", String(15), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", String(64), nullable=True),
    Column("pending_key", String(128), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # A subscriber transfer's sender (`msisdn` is the number credited)
    Column("counterparty", String(15), nullable=True),
    # A reversal names the sale it reverses; unique: a sale is reversed at most once
    Column("original_ref", String(32), nullable=True, unique=True),
    # The resolver's bookkeeping for outcomes not known yet (ledger.operations.resolver)
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_check_at", UtcDateTime, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint(f"state IN ({OPERATION_STATES_SQL})", name="state_known"),
    # The listings of /api/v1 and the resolver's work queue, newest or oldest first
    Index("ix_operations_created", "created_at", "id"),
    Index("ix_operations_agent_created", "agent_id", "created_at", "id"),
    Index("ix_operations_msisdn_created", "msisdn", "created_at", "id"),
    Index("ix_operations_state_created", "state", "created_at", "id"),
)

# Daily counters that limits are checked against: one row per subject (`agent:<id>`,
# `msisdn:<number>`) and business day (Asia/Shanghai), added to in the same commit as the
# reservation that uses them, under a cap the commit itself checks (`ledger.limits`).
usage_counters = Table(
    "usage_counters",
    metadata,
    Column("subject", String(48), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("amount", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
)

# Limits per level (`level:1`, `level:2`, `level:3`) and per agent (`agent:<id>`); a NULL
# inherits: agent, then its level, then the configured default.
limit_rules = Table(
    "limit_rules",
    metadata,
    Column("scope", String(32), primary_key=True),
    Column("op_min_fen", BigInteger, nullable=True),
    Column("op_max_fen", BigInteger, nullable=True),
    Column("daily_amount_fen", BigInteger, nullable=True),
    Column("daily_count", Integer, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)


# Wrong PINs per channel source (a WAP client's address, an IVR caller), counted per window:
# past the bound, PINs from that source are not even checked, so nobody can lock agents out
# at will by guessing from one place (ledger.operations.auth).
pin_throttle = Table(
    "pin_throttle",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("window_start", UtcDateTime, nullable=False),
    Column("failures", Integer, nullable=False),
)

# What people and the platform did to agents and their credentials: append-only.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("subject", String(64), nullable=False, index=True),
    Column("detail", Text, nullable=False),
    # the channel's idempotency key, for actions a request asked for (a replay finds it here)
    Column("key", String(128), nullable=True, unique=True),
)


# One-time codes a subscriber confirms a transfer with: stored as a keyed hash, for one number,
# until they expire, are used once, or take too many wrong tries (ledger.operations.transfer).
confirmation_codes = Table(
    "confirmation_codes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("msisdn", String(15), nullable=False, index=True),
    Column("code_hash", String(100), nullable=False),
    Column("target", String(15), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("request_key", String(128), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
)
