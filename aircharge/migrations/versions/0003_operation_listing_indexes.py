"""Indexes for listing operations by time: all, by agent, by number, by state (the read-only
API's listings and the resolver's queue), replacing the plain index on state.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_INDEXES = {
    "ix_operations_created": ["created_at", "id"],
    "ix_operations_agent_created": ["agent_id", "created_at", "id"],
    "ix_operations_msisdn_created": ["msisdn", "created_at", "id"],
    "ix_operations_state_created": ["state", "created_at", "id"],
}


def upgrade() -> None:
    op.drop_index("ix_operations_state", table_name="operations")
    for name, columns in _INDEXES.items():
        op.create_index(name, "operations", columns)


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name="operations")
    op.create_index("ix_operations_state", "operations", ["state"])
