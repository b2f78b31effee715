"""Reads on the loop's own thread (`ledger.sqlite.LoopReader`): SQLite files only, each read
a fresh snapshot (what any connection committed before it is seen), nothing kept open between
reads, and a failing read leaves the reader usable."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.schema import agents
from ledger.sqlite import LoopReader
from tests.conftest import migrated_engine
from tests.ledger.conftest import MERCHANT, open_world


def _status(connection: Connection) -> str:
    return str(
        connection.execute(select(agents.c.status).where(agents.c.msisdn == MERCHANT)).scalar_one()
    )


async def test_only_for_sqlite_files(engine: AsyncEngine) -> None:
    reader = LoopReader.for_engine(engine)
    assert (reader is None) == (engine.dialect.name != "sqlite")


async def test_each_read_sees_what_others_committed_and_holds_nothing(tmp_path: Path) -> None:
    async with migrated_engine("sqlite", tmp_path) as engine, open_world(engine):
        reader = LoopReader.for_engine(engine)
        assert reader is not None
        try:
            assert reader.run(_status) == "active"
            async with engine.begin() as conn:  # another connection writes, and can: no lock held
                await conn.execute(
                    update(agents).where(agents.c.msisdn == MERCHANT).values(status="suspended")
                )
            assert reader.run(_status) == "suspended"
            with pytest.raises(Exception, match="no such table"):
                reader.run(lambda connection: connection.execute(text("SELECT * FROM nowhere")))
            assert reader.run(_status) == "suspended"  # usable after a failed read
        finally:
            reader.dispose()
