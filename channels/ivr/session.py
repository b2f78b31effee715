"""One AGI conversation over asyncio streams: the thin transport around `AgiConnection`.

`AgiSession.environment()` waits for the environment block (a peer that never finishes it is
dropped after `environment_timeout_s`); `run(command)` sends one command and answers its
reply. `CallGone` says the caller is no longer there — the socket closed, the channel is
dead (511), or a command was answered `-1` after a `HANGUP` line — so the call code has one
thing to catch. Protocol errors (`AgiPeerError`) propagate: the server logs and closes.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

from channels.ivr.agi import CLOSED, NEED_DATA, AgiConnection
from channels.ivr.agi_wire import CODE_DEAD_CHANNEL, HANGUP, Command, Environment, Reply

read_bytes_max: Final = 4096  # one read from the socket
reply_timeout_s: Final = 600.0  # one command's reply (a prompt plays meanwhile): then give up


class CallGone(Exception):
    """The caller hung up or the connection went away: stop issuing commands."""


class AgiSession:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._conn = AgiConnection()
        self.commands = 0

    @property
    def hung_up(self) -> bool:
        return self._conn.hung_up

    async def _next(self) -> Environment | Reply | None:
        """The next environment or reply; None when the stream has ended. A `HANGUP` line
        only sets `hung_up`."""
        while True:
            event = self._conn.next_event()
            if event is NEED_DATA:
                self._conn.receive_data(await self._reader.read(read_bytes_max))
            elif event is CLOSED:
                return None
            elif event is HANGUP:
                continue
            else:
                assert isinstance(event, Environment | Reply), event
                return event

    async def environment(self, timeout_s: float) -> Environment:
        """The environment block; TimeoutError when it does not come whole in time."""
        async with asyncio.timeout(timeout_s):
            event = await self._next()
        if event is None:
            raise CallGone("the connection closed before the AGI environment ended")
        assert isinstance(event, Environment), event
        return event

    async def run(self, command: Command) -> Reply:
        """Send `command`; its reply. CallGone when the caller is gone (see module doc)."""
        if self._conn.hung_up and command.name != "HANGUP":
            raise CallGone("the caller hung up")
        try:
            self._writer.write(self._conn.send(command))
            self.commands += 1
            async with asyncio.timeout(reply_timeout_s):
                reply = await self._next()
        except (ConnectionError, OSError) as exc:
            raise CallGone(f"the connection failed: {exc}") from exc
        if reply is None:
            raise CallGone(f"the connection closed during {command.name}")
        assert isinstance(reply, Reply), reply
        if reply.code == CODE_DEAD_CHANNEL:
            raise CallGone(f"{command.name} on a dead channel")
        if self._conn.hung_up and reply.result == "-1":
            raise CallGone(f"the caller hung up during {command.name}")
        return reply

    async def close(self) -> None:
        self._conn.close()
        self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()


__all__ = ["AgiSession", "CallGone", "reply_timeout_s"]
