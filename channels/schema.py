"""Tables the channels keep for themselves (dialog sessions; later MO records, receipts,
form tokens). Created by the composition root's single Alembic history with the ledger's.
Times are integer milliseconds since the epoch (UTC): comparable on every database.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, String, Table, Text

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
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
