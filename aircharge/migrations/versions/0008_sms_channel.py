"""The SMS channel: MO records, the MT outbox and its receipt parts, duplicate confirmations,
daily reply counts.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sms_mo",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        sa.Column("link", sa.String(length=32), nullable=False),
        sa.Column("sender", sa.String(length=32), nullable=False),
        sa.Column("sender_ton", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reference", sa.Integer(), nullable=True),
        sa.Column("command", sa.Text(), nullable=True),
        sa.Column("content_digest", sa.String(length=64), nullable=True),
        sa.Column("delivery_digest", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.Column("processed_ms", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "state IN ('received', 'processed', 'ignored')", name=op.f("ck_sms_mo_state_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_mo")),
    )
    op.create_index("ix_sms_mo_state_id", "sms_mo", ["state", "id"])
    op.create_index(
        "ix_sms_mo_content_digest_received_ms", "sms_mo", ["content_digest", "received_ms"]
    )
    op.create_index(op.f("ix_sms_mo_delivery_digest"), "sms_mo", ["delivery_digest"])
    op.create_table(
        "sms_mt",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        sa.Column("recipient", sa.String(length=15), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("mo_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("receipt", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "state IN ('queued', 'submitted', 'delivered', 'failed', 'expired')",
            name=op.f("ck_sms_mt_state_known"),
        ),
        sa.CheckConstraint(
            "kind IN ('reply', 'notice', 'code')", name=op.f("ck_sms_mt_kind_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_mt")),
    )
    op.create_index("ix_sms_mt_state_id", "sms_mt", ["state", "id"])
    op.create_index(op.f("ix_sms_mt_mo_id"), "sms_mt", ["mo_id"])
    op.create_table(
        "sms_mt_parts",
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("mt_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_sms_mt_parts")),
    )
    op.create_index(op.f("ix_sms_mt_parts_mt_id"), "sms_mt_parts", ["mt_id"])
    op.create_index(op.f("ix_sms_mt_parts_created_ms"), "sms_mt_parts", ["created_ms"])
    op.create_table(
        "sms_confirmations",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        sa.Column("sender", sa.String(length=15), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("mo_id", sa.BigInteger(), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_confirmations")),
    )
    op.create_index(
        "ix_sms_confirmations_sender_code_hash", "sms_confirmations", ["sender", "code_hash"]
    )
    op.create_table(
        "sms_reply_counts",
        sa.Column("msisdn", sa.String(length=15), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("msisdn", "day", name=op.f("pk_sms_reply_counts")),
    )


def downgrade() -> None:
    op.drop_table("sms_reply_counts")
    op.drop_index("ix_sms_confirmations_sender_code_hash", table_name="sms_confirmations")
    op.drop_table("sms_confirmations")
    op.drop_index(op.f("ix_sms_mt_parts_created_ms"), table_name="sms_mt_parts")
    op.drop_index(op.f("ix_sms_mt_parts_mt_id"), table_name="sms_mt_parts")
    op.drop_table("sms_mt_parts")
    op.drop_index(op.f("ix_sms_mt_mo_id"), table_name="sms_mt")
    op.drop_index("ix_sms_mt_state_id", table_name="sms_mt")
    op.drop_table("sms_mt")
    op.drop_index(op.f("ix_sms_mo_delivery_digest"), table_name="sms_mo")
    op.drop_index("ix_sms_mo_content_digest_received_ms", table_name="sms_mo")
    op.drop_index("ix_sms_mo_state_id", table_name="sms_mo")
    op.drop_table("sms_mo")
