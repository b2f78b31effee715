"""The STK channel's service SIMs: wrapped keys, status, the last counter accepted.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stk_sims",
        sa.Column("sim_id", sa.String(length=16), nullable=False),
        sa.Column("msisdn", sa.String(length=15), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("kic", sa.String(length=80), nullable=False),
        sa.Column("kid", sa.String(length=80), nullable=False),
        sa.Column("last_counter", sa.BigInteger(), nullable=False),
        sa.Column("last_digest", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("retired_ms", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'retired')", name=op.f("ck_stk_sims_status_known")
        ),
        sa.PrimaryKeyConstraint("sim_id", name=op.f("pk_stk_sims")),
    )
    op.create_index(op.f("ix_stk_sims_msisdn"), "stk_sims", ["msisdn"])
    op.create_index(
        "ux_stk_sims_active_msisdn",
        "stk_sims",
        ["msisdn"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_index("ux_stk_sims_active_msisdn", table_name="stk_sims")
    op.drop_index(op.f("ix_stk_sims_msisdn"), table_name="stk_sims")
    op.drop_table("stk_sims")
