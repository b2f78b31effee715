"""The WAP channel: sessions and their one-time form tokens.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wap_sessions",
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("msisdn", sa.String(length=15), nullable=True),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(length=8), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "stage IN ('number', 'pin', 'dialog', 'ended')",
            name=op.f("ck_wap_sessions_stage_known"),
        ),
        sa.PrimaryKeyConstraint("session_hash", name=op.f("pk_wap_sessions")),
    )
    op.create_index(op.f("ix_wap_sessions_updated_ms"), "wap_sessions", ["updated_ms"])
    op.create_table(
        "wap_form_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.Column("spent_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_wap_form_tokens")),
    )
    op.create_index(op.f("ix_wap_form_tokens_session_hash"), "wap_form_tokens", ["session_hash"])
    op.create_index(op.f("ix_wap_form_tokens_expires_ms"), "wap_form_tokens", ["expires_ms"])


def downgrade() -> None:
    op.drop_index(op.f("ix_wap_form_tokens_expires_ms"), table_name="wap_form_tokens")
    op.drop_index(op.f("ix_wap_form_tokens_session_hash"), table_name="wap_form_tokens")
    op.drop_table("wap_form_tokens")
    op.drop_index(op.f("ix_wap_sessions_updated_ms"), table_name="wap_sessions")
    op.drop_table("wap_sessions")
