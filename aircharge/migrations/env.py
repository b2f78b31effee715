"""Alembic environment: always run by `aircharge.database.upgrade` with a live connection."""

from __future__ import annotations

from alembic import context

from aircharge.database import METADATA

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `aircharge db upgrade`, not the alembic command")
context.configure(connection=connection, target_metadata=list(METADATA))
with context.begin_transaction():
    context.run_migrations()
