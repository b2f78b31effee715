"""Work that outlives the request that started it: a cancelled caller stops waiting, the work
finishes, and `drain` waits for it."""

from __future__ import annotations

import asyncio

import pytest

from channels.shielded import ShieldedWork


async def test_a_cancelled_caller_leaves_the_work_running_and_drain_waits_for_it() -> None:
    work = ShieldedWork()
    release = asyncio.Event()
    finished: list[str] = []

    async def operation() -> str:
        await release.wait()
        finished.append("posted")
        return "ok"

    caller = asyncio.create_task(work.run(operation()))
    while not work.in_flight:  # noqa: ASYNC110 - polled state
        await asyncio.sleep(0)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert work.in_flight == 1  # the operation goes on without its caller
    drained = asyncio.create_task(work.drain())
    await asyncio.sleep(0)
    assert not drained.done()
    release.set()
    await drained
    assert finished == ["posted"]
    assert work.in_flight == 0


async def test_a_failure_after_its_caller_left_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    work = ShieldedWork()
    release = asyncio.Event()

    async def operation() -> None:
        await release.wait()
        raise RuntimeError("BOSS said no")

    caller = asyncio.create_task(work.run(operation()))
    await asyncio.sleep(0)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    release.set()
    await work.drain()
    assert "work that outlived its request failed" in caplog.text
    assert "BOSS said no" in caplog.text


async def test_the_result_and_the_error_reach_a_caller_still_waiting() -> None:
    work = ShieldedWork()

    async def answer() -> int:
        return 7

    async def failure() -> int:
        raise ValueError("refused")

    assert await work.run(answer()) == 7
    with pytest.raises(ValueError, match="refused"):
        await work.run(failure())
    await work.drain()  # a failed task does not break the drain
    assert work.in_flight == 0
