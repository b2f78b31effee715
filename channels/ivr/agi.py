"""The platform's end of one AGI conversation, sans-IO: bytes in, events out, commands to bytes.

`AgiConnection` follows h11's shape: `receive_data(bytes)` (b"" at the end of the stream),
`next_event()` answering the next `Environment`, `Reply`, `HANGUP`, `NEED_DATA` or `CLOSED`,
and `send(command)` answering the bytes to write. Its states are a table:

    ENVIRONMENT --blank line--> IDLE --send--> AWAITING --reply--> IDLE
    any state --end of stream--> CLOSED

A reply with no command in flight, a second command before the reply, garbage lines and
endless blocks are protocol errors (`AgiPeerError` for Asterisk's, `AgiLocalError` for ours).
A `HANGUP` line may come in IDLE or AWAITING; it is an event and sets `hung_up`, the state is
unchanged (Asterisk still answers the command in flight, with 511 from then on).

The command builders below name the few commands the IVR uses, with their arguments in
Asterisk's units (milliseconds for GET DATA's time-out, an ASCII string of escape digits).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Final

from channels.ivr.agi_wire import (
    HANGUP,
    AgiPeerError,
    Command,
    Environment,
    EnvironmentReader,
    Hangup,
    LineBuffer,
    Reply,
    ReplyReader,
)

DTMF_DIGITS: Final = "0123456789*#"


class AgiLocalError(Exception):
    """We broke the protocol (a command while one is in flight, after the end): a bug."""


class State(enum.Enum):
    ENVIRONMENT = "environment"
    IDLE = "idle"
    AWAITING = "awaiting"
    CLOSED = "closed"


class _Sentinel(enum.Enum):
    NEED_DATA = "need data"
    CLOSED = "closed"


NEED_DATA: Final = _Sentinel.NEED_DATA
CLOSED: Final = _Sentinel.CLOSED
AgiEvent = Environment | Reply | Hangup | _Sentinel


class AgiConnection:
    def __init__(self) -> None:
        self._state = State.ENVIRONMENT
        self._lines = LineBuffer()
        self._environment = EnvironmentReader()
        self._replies = ReplyReader()
        self._pending: Iterator[str] = iter(())
        self._eof = False
        self.hung_up = False
        self.in_flight: Command | None = None

    @property
    def state(self) -> State:
        return self._state

    def receive_data(self, data: bytes) -> None:
        """Bytes from the peer; b"" when the peer closed its side."""
        if self._eof:
            raise AgiLocalError("data after the end of the stream")
        if data:
            self._lines.feed(data)
        else:
            self._eof = True

    def next_event(self) -> AgiEvent:
        """The next event, NEED_DATA when more bytes are needed, CLOSED once they end."""
        while True:
            line = next(self._pending, None)
            if line is None:
                self._pending = self._lines.lines()
                line = next(self._pending, None)
            if line is None:
                if self._eof or self._state is State.CLOSED:
                    self._state = State.CLOSED
                    return CLOSED
                return NEED_DATA
            event = self._line(line)
            if event is not None:
                return event

    def _line(self, line: str) -> Environment | Reply | Hangup | None:
        if self._state is State.ENVIRONMENT:
            environment = self._environment.feed(line)
            if environment is not None:
                self._state = State.IDLE
            return environment
        if self._state is State.CLOSED:
            return None
        event = self._replies.feed(line)
        if event is HANGUP:
            self.hung_up = True
            return event
        if event is None:
            return None
        if self._state is not State.AWAITING:
            raise AgiPeerError(f"a reply with no command in flight: {event!r}")
        assert isinstance(event, Reply)
        self._state = State.IDLE
        self.in_flight = None
        return event

    def send(self, command: Command) -> bytes:
        """The bytes of `command`; only when the previous one has its reply."""
        if self._state is not State.IDLE:
            raise AgiLocalError(f"cannot send {command.name} in state {self._state.value}")
        self._state = State.AWAITING
        self.in_flight = command
        return command.encode()

    def close(self) -> None:
        """We are done with the conversation (no more events, no more commands)."""
        self._state = State.CLOSED


def answer() -> Command:
    return Command(("ANSWER",))


def hangup() -> Command:
    return Command(("HANGUP",))


def stream_file(name: str, escape_digits: str = "") -> Command:
    """Play `name` (no extension); a key in `escape_digits` stops it (result: its ASCII code)."""
    assert set(escape_digits) <= set(DTMF_DIGITS), escape_digits
    return Command(("STREAM", "FILE"), (name, escape_digits))


def get_data(name: str, timeout_ms: int, max_digits: int) -> Command:
    """Play `name`, then collect up to `max_digits` keys; `#` or `timeout_ms` of silence ends."""
    assert timeout_ms > 0, timeout_ms
    assert max_digits > 0, max_digits
    return Command(("GET", "DATA"), (name, str(timeout_ms), str(max_digits)))


def verbose(message: str, level: int = 1) -> Command:
    return Command(("VERBOSE",), (message, str(level)))


__all__ = [
    "CLOSED",
    "DTMF_DIGITS",
    "NEED_DATA",
    "AgiConnection",
    "AgiEvent",
    "AgiLocalError",
    "State",
    "answer",
    "get_data",
    "hangup",
    "stream_file",
    "verbose",
]
