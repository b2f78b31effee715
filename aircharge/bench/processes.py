"""The emulators a bench runs in processes of their own, so that they do not share the
platform's core: a free loopback port, and the BOSS emulator started and waited for."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp

boss_start_s_max: Final = 30.0


def free_port() -> int:
    """A loopback port free now (the caller binds it soon after)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Emulator:
    url: str
    pid: int  # for the bench's CPU figures


@contextlib.asynccontextmanager
async def boss_process(state: Path | None) -> AsyncIterator[Emulator]:
    """`python -m simulator.boss` with its state file (None: in memory); yields it once it
    answers, and stops it after."""
    port = free_port()
    arguments = ["--port", str(port)] + ([] if state is None else ["--state", str(state)])
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator.boss", *arguments,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + boss_start_s_max
        async with aiohttp.ClientSession() as http:
            while True:
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{url}/boss/faults") as response:
                        if response.status == 200:
                            break
                if process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the BOSS emulator did not start on port {port}")
                await asyncio.sleep(0.05)
        yield Emulator(url, process.pid)
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def json_process(command: list[str], what: str) -> Any:
    """Run a load process to its end; the JSON object it prints. RuntimeError with the end of
    its stderr when it fails."""
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{what} failed: {err.decode(errors='replace')[-2000:]}")
    return json.loads(out)


def split(total: int, processes: int) -> list[tuple[int, int]]:
    """`total` clients (sessions, callers) over at most `processes` load processes: each
    process's (count, index of its first client), counts differing by one at most."""
    processes = max(1, min(processes, total))
    counts = [total // processes + (i < total % processes) for i in range(processes)]
    return [(count, sum(counts[:i])) for i, count in enumerate(counts)]


def merged_failures(results: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """The load processes' `failures` (reason -> count) added up."""
    failures: dict[str, int] = {}
    for result in results:
        for reason, count in result["failures"].items():
            failures[reason] = failures.get(reason, 0) + count
    return failures


__all__ = ["Emulator", "boss_process", "free_port", "json_process", "merged_failures", "split"]
