"""Daily usage counters and limit rules; operation states for the resolver, deposits and
reversals.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_OLD_STATES = "state IN ('reserved', 'posted', 'failed', 'unknown')"
_NEW_STATES = (
    "state IN ('reserved', 'posted', 'failed', 'unknown', 'manual', 'suspense', 'reversed')"
)


def upgrade() -> None:
    op.create_table(
        "usage_counters",
        sa.Column("subject", sa.String(length=48), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("subject", "day", name=op.f("pk_usage_counters")),
    )
    op.create_table(
        "limit_rules",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("op_min_fen", sa.BigInteger(), nullable=True),
        sa.Column("op_max_fen", sa.BigInteger(), nullable=True),
        sa.Column("daily_amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("daily_count", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_limit_rules")),
    )
    with op.batch_alter_table("operations") as batch:  # SQLite rebuilds the table
        batch.drop_constraint(op.f("ck_operations_state_known"), type_="check")
        batch.create_check_constraint(op.f("ck_operations_state_known"), _NEW_STATES)


def downgrade() -> None:
    with op.batch_alter_table("operations") as batch:
        batch.drop_constraint(op.f("ck_operations_state_known"), type_="check")
        batch.create_check_constraint(op.f("ck_operations_state_known"), _OLD_STATES)
    op.drop_table("limit_rules")
    op.drop_table("usage_counters")
