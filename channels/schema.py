"""Tables the channels keep for themselves (dialog sessions, SMS MO records, the MT outbox and
its delivery receipts, duplicate confirmations, daily reply counts, WAP sessions and their
one-time form tokens, the STK SIMs and their counters).
Created by the composition root's single Alembic history with the ledger's.
Times are integer milliseconds since the epoch (UTC): comparable on every database.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

ussd_sessions = Table(
    "ussd_sessions",
    metadata,
    Column("session_id", String(128), primary_key=True),
    Column("msisdn", String(15), nullable=False),
    Column("service_code", String(32), nullable=False),
    Column("state", Text, nullable=False),  # engine state as JSON; PINs only as proofs
    Column("consumed", Integer, nullable=False),  # inputs of `text` already fed
    Column("page", Integer, nullable=False),  # page of a long menu on screen (98 More / 0 Back)
    Column("last_digest", String(64), nullable=False),  # keyed digest of the last `text`
    Column("last_reply", Text, nullable=False),  # answered again on a gateway retry
    Column("ended", Boolean, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False, index=True),
)

Id = BigInteger().with_variant(Integer(), "sqlite")

MO_STATES: Final = ("received", "processed", "ignored")
MT_STATES: Final = ("queued", "submitted", "delivered", "failed", "expired")
MT_KINDS: Final = ("reply", "notice", "code")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


# One row per MO as received. `text` has every PIN masked (`dialogs.grammar.mask_pins`);
# `command` is the parsed command as JSON with PINs only as seals, so a crash between the ack
# and processing loses nothing `recover()` needs and stores nothing a reader could use.
sms_mo = Table(
    "sms_mo",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("link", String(32), nullable=False),
    Column("sender", String(32), nullable=False),
    Column("sender_ton", Integer, nullable=False),
    Column("recipient", String(32), nullable=False),
    Column("text", Text, nullable=False),  # PINs masked
    Column("reference", Integer, nullable=True),  # the handset's message reference
    Column("command", Text, nullable=True),  # parsed, PINs sealed (JSON); None when ignored
    # keyed HMAC of sender and the command without its PIN: the duplicate window's key
    Column("content_digest", String(64), nullable=True),
    # keyed HMAC of link, sender, reference and text: an SMSC re-delivery's key
    Column("delivery_digest", String(64), nullable=True, index=True),
    Column("state", String(16), nullable=False),
    Column("outcome", String(32), nullable=True),  # the operation's code, or what was answered
    Column("received_ms", BigInteger, nullable=False),
    Column("processed_ms", BigInteger, nullable=True),
    CheckConstraint(_one_of("state", MO_STATES), name="state_known"),
    Index("ix_sms_mo_state_id", "state", "id"),
    Index("ix_sms_mo_content_digest_received_ms", "content_digest", "received_ms"),
)

# The MT outbox. A code's text is stored masked; its clear text lives only in memory until
# submitted (a code queued when the process stops is failed on restart, never sent masked).
sms_mt = Table(
    "sms_mt",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("recipient", String(15), nullable=False),
    Column("text", Text, nullable=False),
    Column("kind", String(8), nullable=False),
    Column("mo_id", BigInteger, nullable=True, index=True),
    Column("state", String(16), nullable=False),
    Column("receipt", Boolean, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("reason", String(64), nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    CheckConstraint(_one_of("state", MT_STATES), name="state_known"),
    CheckConstraint(_one_of("kind", MT_KINDS), name="kind_known"),
    Index("ix_sms_mt_state_id", "state", "id"),
)

# One row per submitted part of an MT that asked for a receipt; purged after the retention.
sms_mt_parts = Table(
    "sms_mt_parts",
    metadata,
    Column("message_id", String(64), primary_key=True),
    Column("mt_id", BigInteger, nullable=False, index=True),
    Column("state", String(16), nullable=True),  # the receipt's state, None until one comes
    Column("created_ms", BigInteger, nullable=False, index=True),
)

# A repeat inside the duplicate window waits here for `Y <code>`: the code only as a keyed
# hash, the command with PINs only as seals.
sms_confirmations = Table(
    "sms_confirmations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sender", String(15), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("mo_id", BigInteger, nullable=False),  # the MO that repeats an earlier one
    Column("command", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Column("used", Boolean, nullable=False),
    Index("ix_sms_confirmations_sender_code_hash", "sender", "code_hash"),
)

# Replies sent per number and Asia/Shanghai business day (the daily reply cap).
sms_reply_counts = Table(
    "sms_reply_counts",
    metadata,
    Column("msisdn", String(15), nullable=False),
    Column("day", Date, nullable=False),
    Column("count", Integer, nullable=False),
    PrimaryKeyConstraint("msisdn", "day"),
)

WAP_STAGES: Final = ("number", "pin", "dialog", "ended")

# One row per WAP session. The id is a bearer secret, so only its SHA-256 is kept; the
# engine state holds PINs only as seals (like USSD's).
wap_sessions = Table(
    "wap_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("msisdn", String(15), nullable=True),  # None until a signing-in user types it
    Column("trusted", Boolean, nullable=False),  # the number came from a trusted gateway header
    Column("stage", String(8), nullable=False),
    Column("language", String(8), nullable=False),
    Column("state", Text, nullable=True),  # engine state as JSON once the dialog runs
    Column("attempts", Integer, nullable=False),  # sign-in tries (number, PIN)
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False, index=True),
    CheckConstraint(_one_of("stage", WAP_STAGES), name="stage_known"),
)

# One-time form tokens: only their SHA-256, bound to one session, spent by the conditional
# update that takes their POST (a second POST of the same form finds it spent).
wap_form_tokens = Table(
    "wap_form_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("session_hash", String(64), nullable=False, index=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False, index=True),
    Column("spent_ms", BigInteger, nullable=True),
)

SIM_STATES: Final = ("active", "retired")

# One row per service SIM provisioned for an agent (`channels.stk.sims`): the STK1 keys only
# wrapped (AES-GCM under a key derived from the PIN key named by `key_id`), the last counter
# accepted and a keyed digest of the text that carried it (a re-delivery of that very SMS is
# told from a replayed or reused counter). An agent has at most one active SIM.
stk_sims = Table(
    "stk_sims",
    metadata,
    Column("sim_id", String(16), primary_key=True),
    Column("msisdn", String(15), nullable=False, index=True),
    Column("key_id", String(32), nullable=False),  # the PIN key the SIM keys are wrapped under
    Column("kic", String(80), nullable=False),  # base64: nonce || AES-GCM(KIc) || tag
    Column("kid", String(80), nullable=False),
    Column("last_counter", BigInteger, nullable=False),
    Column("last_digest", String(64), nullable=True),
    Column("status", String(8), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("retired_ms", BigInteger, nullable=True),
    CheckConstraint(_one_of("status", SIM_STATES), name="status_known"),
    # At most one active SIM per agent, even when two provisionings race.
    Index(
        "ux_stk_sims_active_msisdn",
        "msisdn",
        unique=True,
        sqlite_where=text("status = 'active'"),
        postgresql_where=text("status = 'active'"),
    ),
)
