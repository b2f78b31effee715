"""Keyset pages neither skip nor repeat: for any page size and filter, walking the cursor
hands out exactly the matching operations in order, even while new operations arrive
between pages (they are newer, so a newest-first walk never meets them; an oldest-first
walk meets them only after everything that was there before).

The oracle reads the operations table directly and sorts in Python; hypothesis runs in a
worker thread and hands each example's requests to the test's event loop, where the
database, BOSS and the HTTP server live."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ledger.money import Msisdn
from ledger.schema import operations
from tests.webadmin.conftest import LEVEL_2, MERCHANT, PREPAID, T0, ApiWorld
from webadmin.api.params import page_items_max

_T = TypeVar("_T")

# (path, query, the rule a row must meet); rows are (ref, agent msisdn, msisdn, state, created_at)
Row = tuple[str, Msisdn, str, str, Any]
LISTINGS: list[tuple[str, dict[str, str], Any]] = [
    ("/transactions", {}, lambda r: True),
    ("/transactions", {"agent": "13800000003"}, lambda r: r[1] == MERCHANT),
    ("/transactions", {"msisdn": "13900000002"}, lambda r: r[2] == PREPAID[1]),
    (
        "/transactions",
        {"since": (T0 + timedelta(seconds=3)).isoformat()},
        lambda r: r[4] >= T0 + timedelta(seconds=3),
    ),
    ("/outcomes", {"state": "pending"}, lambda r: r[3] in ("reserved", "unknown")),
]


async def _table(api: ApiWorld) -> list[Row]:
    """Every operation in listing order (newest first), read without the API."""
    owners = {agent.id: number for number, agent in api.agents.items()}
    async with api.engine.connect() as conn:
        rows = (await conn.execute(select(operations))).all()
    ordered = sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)
    return [(r.ref, owners[r.agent_id], r.msisdn, r.state, r.created_at) for r in ordered]


async def _sell(api: ApiWorld, index: int) -> str:
    actor = (MERCHANT, LEVEL_2)[index % 2]
    outcome = await api.topup(actor, PREPAID[index % 3], 100 + index)
    assert outcome.code in ("ok", "pending"), outcome
    return str(outcome.values["ref"])


async def _walk(
    api: ApiWorld, listing: int, limit: int, arrivals: list[bool]
) -> tuple[list[str], list[str], list[str]]:
    """(expected at the start, refs handed out, refs sold while walking)."""
    path, query, keep = LISTINGS[listing]
    expected = [row[0] for row in await _table(api) if keep(row)]
    if path == "/outcomes":
        expected.reverse()  # oldest first
    seen: list[str] = []
    sold: list[str] = []
    cursor: str | None = None
    for page in range(page_items_max):
        params = query | {"limit": str(limit)} | ({} if cursor is None else {"cursor": cursor})
        status, body = await api.get(path, **params)
        assert status == 200, body
        assert len(body["items"]) <= limit
        seen += [item["ref"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        if page < len(arrivals) and arrivals[page]:
            sold.append(await _sell(api, len(seen)))
    return expected, seen, sold


async def test_walking_pages_hands_out_each_operation_once(api: ApiWorld) -> None:
    api.boss_faults(error_rate=0.4, seed=7)  # a mix of posted and unknown outcomes
    for index in range(12):
        if index % 3 == 0:  # three operations share each timestamp: `id` breaks the tie
            api.clock.advance(1)
        await _sell(api, index)
    assert api.clock.now == T0 + timedelta(seconds=4)

    loop = asyncio.get_running_loop()

    def run(work: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(work, loop).result()

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        listing=st.integers(0, len(LISTINGS) - 1),
        limit=st.integers(1, 14),
        arrivals=st.lists(st.booleans(), max_size=3),
    )
    def pages_are_exact(listing: int, limit: int, arrivals: list[bool]) -> None:
        expected, seen, sold = run(_walk(api, listing, limit, arrivals))
        assert len(seen) == len(set(seen)), "a page repeated an operation"
        path = LISTINGS[listing][0]
        if path == "/transactions":
            assert seen == expected
        else:
            assert seen[: len(expected)] == expected
            assert set(seen[len(expected) :]) <= set(sold)

    await asyncio.to_thread(pages_are_exact)
