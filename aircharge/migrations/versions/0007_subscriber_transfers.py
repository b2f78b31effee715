"""Subscriber transfers: the sender on the operation row, and one-time confirmation codes.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("operations") as batch:
        batch.add_column(sa.Column("counterparty", sa.String(length=15), nullable=True))
    op.create_table(
        "confirmation_codes",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        sa.Column("msisdn", sa.String(length=15), nullable=False),
        sa.Column("code_hash", sa.String(length=100), nullable=False),
        sa.Column("target", sa.String(length=15), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("request_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_confirmation_codes")),
        sa.UniqueConstraint("request_key", name=op.f("uq_confirmation_codes_request_key")),
    )
    op.create_index(
        op.f("ix_confirmation_codes_msisdn"), "confirmation_codes", ["msisdn"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_confirmation_codes_msisdn"), table_name="confirmation_codes")
    op.drop_table("confirmation_codes")
    with op.batch_alter_table("operations") as batch:
        batch.drop_column("counterparty")
