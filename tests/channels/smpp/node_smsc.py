"""The scripted node-smpp SMSC (tests/peers/smsc.js) as an asyncio subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

PEERS = Path(__file__).resolve().parents[2] / "peers"
SCRIPT = PEERS / "smsc.js"


def require_node_smpp() -> str:
    """The node binary; skips (fails under CI=true) when node or node-smpp is missing."""
    node = shutil.which("node")
    reason = None
    if node is None:
        reason = "node is not installed"
    elif not (PEERS / "node_modules" / "smpp").is_dir():
        reason = "node-smpp is not installed: run `make peers`"
    if reason is None:
        assert node is not None
        return node
    if os.environ.get("CI"):
        pytest.fail(f"the node-smpp peer is required in CI: {reason}")
    pytest.skip(reason)


class NodeSmsc:
    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.port = port
        self.seen: list[dict[str, Any]] = []
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls) -> NodeSmsc:
        node = require_node_smpp()
        process = await asyncio.create_subprocess_exec(
            node, str(SCRIPT), cwd=PEERS, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert process.stdout is not None
        first = json.loads(await asyncio.wait_for(process.stdout.readline(), 10))
        assert first["event"] == "listening", first
        return cls(process, first["port"])

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            event = json.loads(line)
            self.seen.append(event)
            await self._events.put(event)

    async def send(self, command: str, **fields: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"cmd": command, **fields}).encode() + b"\n")
        await self.process.stdin.drain()

    async def expect(self, name: str, within_s: float = 5.0) -> dict[str, Any]:
        """The next event called `name` (others before it are skipped)."""
        async with asyncio.timeout(within_s):
            while True:
                event = await self._events.get()
                if event["event"] == name:
                    return event

    async def quiet(self, name: str, for_s: float) -> None:
        """No event called `name` arrives within `for_s`."""
        try:
            event = await self.expect(name, for_s)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected {event}")

    async def deliver(self, hex_fields: tuple[str, ...] = (), **pdu: Any) -> None:
        await self.send("deliver", pdu=pdu, hex=list(hex_fields))

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 5)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        self._reader.cancel()
