"""How an emulated call reaches the AGI script: a FastAGI socket or a classic AGI pipe.

Both are a pair of asyncio streams (`Link`): FastAGI connects to host:port (Asterisk gives up
after 2 s); classic AGI runs a program as Asterisk's `AGI()` does, environment and replies on
its stdin, commands from its stdout. `Conversation` runs one call over a link, the same way for
both: environment, then command -> reply until the script side closes. Lines are framed and
written with the AGI codec (`channels.ivr.agi_wire`).

A hang-up is announced the way Asterisk does: after the reply of the command in flight, or at
once when no command is in flight, FastAGI sends the `HANGUP` line and classic AGI sends the
program SIGHUP; a dropped call closes the link with nothing more. Once the hang-up is
announced, the script has `grace_ms` to end before the link is closed from our side.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import IO, Final, Literal, Protocol

from channels.ivr.agi_wire import HANGUP_LINE, AgiPeerError, LineBuffer
from simulator.asterisk.caller import Caller
from simulator.asterisk.channel import Channel
from simulator.asterisk.record import CallLog
from simulator.asterisk.script import HangUp

connect_timeout_ms_default: Final = 2_000  # MAX_AGI_CONNECT in res_agi.c
read_bytes_max: Final = 65_536  # one read from the link
_HANGUP_BYTES: Final = f"{HANGUP_LINE}\n".encode()


class LinkError(Exception):
    """The link could not be opened (refused, timed out, the program did not start)."""


class Link(Protocol):
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def announce_hangup(self) -> None: ...

    def close(self, grace_ms: int) -> None: ...

    async def finish(self, grace_ms: int) -> int | None: ...


class SocketLink:
    """A FastAGI connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, host: str, port: int, timeout_ms: int) -> SocketLink:
        try:
            async with asyncio.timeout(timeout_ms / 1000):
                reader, writer = await asyncio.open_connection(host, port)
        except TimeoutError:
            message = f"no FastAGI connection to {host}:{port} within {timeout_ms} ms"
            raise LinkError(message) from None
        except OSError as error:
            raise LinkError(f"FastAGI connection to {host}:{port} failed: {error}") from error
        return cls(reader, writer)

    def announce_hangup(self) -> None:
        if not self.writer.is_closing():
            self.writer.write(_HANGUP_BYTES)

    def close(self, grace_ms: int) -> None:
        self.writer.close()

    async def finish(self, grace_ms: int) -> int | None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()
        return None


class PipeLink:
    """A classic AGI program: environment and replies on its stdin, commands on its stdout."""

    def __init__(self, process: asyncio.subprocess.Process, *, sighup: bool) -> None:
        assert process.stdin is not None
        assert process.stdout is not None
        self.reader = process.stdout
        self.writer = process.stdin
        self._process = process
        self._sighup = sighup
        self._kill: asyncio.TimerHandle | None = None

    @classmethod
    async def start(
        cls,
        argv: Sequence[str],
        *,
        sighup: bool,
        stderr: int | IO[bytes] | None,
        env: Mapping[str, str] | None,
    ) -> PipeLink:
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=env,
            )
        except OSError as error:
            raise LinkError(f"AGI program {argv[0]!r} did not start: {error}") from error
        return cls(process, sighup=sighup)

    def announce_hangup(self) -> None:
        if self._sighup and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.send_signal(signal.SIGHUP)

    def close(self, grace_ms: int) -> None:
        """Close its stdin; kill it when it has not ended within the grace time."""
        if not self.writer.is_closing():
            self.writer.close()
        if self._kill is None:
            self._kill = asyncio.get_running_loop().call_later(grace_ms / 1000, self._end)

    def _end(self) -> None:
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()

    async def finish(self, grace_ms: int) -> int | None:
        self.close(grace_ms)
        code = await self._process.wait()
        if self._kill is not None:
            self._kill.cancel()
        return code


class Conversation:
    """One call over one link: environment, then each command's reply, hang-ups, the end."""

    def __init__(
        self, link: Link, channel: Channel, caller: Caller, log: CallLog, *, grace_ms: int
    ) -> None:
        self._link = link
        self._channel = channel
        self._caller = caller
        self._log = log
        self._grace_ms = grace_ms
        self._lines = LineBuffer()
        self._ready: deque[str] = deque()
        self._in_flight = False
        self._closed = False
        self._last_write = 0.0
        self._grace: asyncio.TimerHandle | None = None

    async def run(self, environment: bytes, call_s_max: float) -> None:
        """Serve the call until the script side closes (or we close it: drop, grace, limit)."""
        self._caller.start(self.caller_hung_up)
        try:
            async with asyncio.timeout(call_s_max):
                self._write(environment)
                self._after(self._caller.hangup_due(replied=False))
                await self._serve()
        except TimeoutError:
            self._log.failed(f"the call lasted more than {call_s_max} s")
            self._close()
        except AgiPeerError as error:
            self._log.failed(f"the AGI script broke the protocol: {error}")
            self._close()
        finally:
            self._caller.close()
            if self._grace is not None:
                self._grace.cancel()
            self._log.record.closed_by = "asterisk" if self._closed else "platform"
            self._log.record.exit_code = await self._link.finish(self._grace_ms)

    async def _serve(self) -> None:
        while True:
            line = await self._read_line()
            if line is None:
                return
            if self._closed:
                continue  # we closed our side: read on to the end, answer nothing
            latency_ms = (time.perf_counter() - self._last_write) * 1000
            at_ms = self._log.now_ms()
            self._in_flight = True
            try:
                reply = await self._channel.execute(line)
            finally:
                self._in_flight = False
            hangup = self._channel.hangup
            if hangup is not None and hangup.drop:
                self._after(None)  # a drop closes the link before any reply
            if self._closed:
                self._log.answered(line, b"", latency_ms, at_ms)
                continue
            self._write(reply)
            self._log.answered(line, reply, latency_ms, at_ms)
            self._after(self._caller.hangup_due(replied=True))

    def caller_hung_up(self, step: HangUp) -> None:
        """A hang-up at any moment (the live caller's keypad): announced now when no command
        is in flight, else after its reply; a drop closes the link at once."""
        if self._channel.dead or self._closed:
            return
        if self._channel.hangup is None:
            self._channel.hangup = step
        if step.drop:
            self._announce("caller", drop=True)
        elif not self._in_flight:
            self._after(None)

    def _after(self, due: HangUp | None) -> None:
        """After the environment or a reply: announce a hang-up that happened meanwhile."""
        if due is not None and self._channel.hangup is None:
            self._channel.hangup = due
        if self._channel.dead:
            return
        if self._channel.hangup is not None:
            self._announce("caller", drop=self._channel.hangup.drop)
        elif self._channel.platform_hung_up:
            self._announce("platform", drop=False)

    def _announce(self, by: Literal["caller", "platform"], *, drop: bool) -> None:
        self._channel.dead = True
        self._log.hung_up(by, drop)
        if drop:
            self._close()
            return
        self._link.announce_hangup()
        self._grace = asyncio.get_running_loop().call_later(self._grace_ms / 1000, self._close)

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self._link.close(self._grace_ms)

    def _write(self, data: bytes) -> None:
        if not self._link.writer.is_closing():
            self._link.writer.write(data)
        self._last_write = time.perf_counter()

    async def _read_line(self) -> str | None:
        while not self._ready:
            try:
                data = await self._link.reader.read(read_bytes_max)
            except (ConnectionError, OSError):
                data = b""
            if not data:
                return None
            self._lines.feed(data)
            self._ready.extend(self._lines.lines())
        return self._ready.popleft()


__all__ = ["Conversation", "Link", "LinkError", "PipeLink", "SocketLink"]
