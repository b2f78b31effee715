"""A reversal's operation row names the sale it reverses (unique: once per sale).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("operations") as batch:
        batch.add_column(sa.Column("original_ref", sa.String(length=32), nullable=True))
        batch.create_unique_constraint(op.f("uq_operations_original_ref"), ["original_ref"])


def downgrade() -> None:
    with op.batch_alter_table("operations") as batch:
        batch.drop_constraint(op.f("uq_operations_original_ref"), type_="unique")
        batch.drop_column("original_ref")
