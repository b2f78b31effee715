"""A tiny FastAGI "script" for the emulator's tests: the platform's end of the AGI codec
(`channels.ivr.agi.AgiConnection`) over asyncio streams, keeping every byte it received."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from channels.ivr.agi import CLOSED, NEED_DATA, AgiConnection
from channels.ivr.agi_wire import HANGUP, Command, Environment, Reply

WAIT_S = 5.0  # any single wait of a test


@dataclass
class Session:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    connection: AgiConnection = field(default_factory=AgiConnection)
    received: bytearray = field(default_factory=bytearray)
    hangups: int = 0
    closed: bool = False

    @property
    def after_environment(self) -> bytes:
        """Everything received after the environment's blank line."""
        end = self.received.find(b"\n\n")
        return bytes(self.received[end + 2 :]) if end >= 0 else b""

    async def _event(self) -> object:
        while True:
            event = self.connection.next_event()
            if event is not NEED_DATA:
                if event is HANGUP:
                    self.hangups += 1
                if event is CLOSED:
                    self.closed = True
                return event
            async with asyncio.timeout(WAIT_S):
                data = await self.reader.read(65536)
            self.received += data
            self.connection.receive_data(data)

    async def environment(self) -> Environment:
        event = await self._event()
        assert isinstance(event, Environment), event
        return event

    async def command(self, command: Command) -> Reply | None:
        """Send one command, answer its reply (None when the link closed first)."""
        self.writer.write(self.connection.send(command))
        return await self._reply()

    async def line(self, raw: str) -> Reply | None:
        """Send a raw line (not a `Command`: lowercase, garbage) and answer its reply."""
        self.connection.send(Command(("NOOP",)))  # the codec now awaits a reply
        self.writer.write(raw.encode() + b"\n")
        return await self._reply()

    async def _reply(self) -> Reply | None:
        while True:
            event = await self._event()
            if isinstance(event, Reply):
                return event
            if event is CLOSED:
                return None

    async def until_hangup(self) -> None:
        while not self.hangups and not self.closed:
            await self._event()

    async def until_closed(self) -> None:
        while not self.closed:
            await self._event()


Script = Callable[[Session], Awaitable[None]]


@contextlib.asynccontextmanager
async def fastagi_server(
    script: Script, *, close: bool = True
) -> AsyncIterator[tuple[int, list[Session]]]:
    """A FastAGI server on 127.0.0.1 running `script` for each connection; yields its port and
    the sessions. `close=False` keeps each connection open after the script (grace tests)."""
    sessions: list[Session] = []
    errors: list[BaseException] = []
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(reader, writer)
        sessions.append(session)
        try:
            await session.environment()
            await script(session)
            if not close:
                await session.until_closed()
        except Exception as error:  # the test fails on it when the server context ends
            errors.append(error)
        finally:
            writer.close()

    def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(handle(reader, writer))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], sessions
    finally:
        server.close()
        if tasks:  # let each script see its connection to the end
            await asyncio.wait(list(tasks), timeout=WAIT_S)
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if errors:
        raise errors[0]
