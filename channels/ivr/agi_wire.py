"""AGI on the wire: lines, the environment block, commands and replies, for both ends.

Asterisk's Gateway Interface is line-oriented text (FastAGI over TCP, classic AGI over a
script's stdin/stdout; the same lines either way):

- Asterisk opens with the environment, one `agi_<name>: <value>` line per variable, ended by
  a blank line (`format_environment` / `EnvironmentReader`).
- The script sends one command per line, words split on spaces, an argument with spaces in
  double quotes, `\\` escaping the next character (`Command.encode` / `parse_command`, which
  splits as Asterisk's `parse_args` does).
- Asterisk answers each command with one reply line, `200 result=<value>[ (<data>)][ endpos=<n>]`
  (`200 result=123 (timeout)`, `200 result= (timeout)`, `200 result=-1 endpos=0`), or
  `510 Invalid or unknown command`, `511 Command Not Permitted on a dead channel or intercept
  routine`, or a usage block: `520-Invalid command syntax.  Proper usage follows:`, free lines
  of usage, then `520 End of proper usage.` (`format_reply` / `ReplyReader`).
- A bare `HANGUP` line may arrive at any moment, even between a command and its reply, when
  the caller hangs up (FastAGI's AGISIGHUP).

No sockets, no clock, no asyncio here: bytes and lines in, values out. Everything that can
grow is bounded by a named constant; what the peer got wrong raises `AgiPeerError`, what we
got wrong raises `ValueError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

line_bytes_max: Final = 4096  # one AGI line; Asterisk's own buffer is 2048 for a command
environment_lines_max: Final = 128  # ~20 variables and the agi_arg_N of the dialplan
usage_lines_max: Final = 64  # lines of one 520 usage block
command_words_max: Final = 32  # words in one command line (Asterisk's MAX_ARGS is 128)

HANGUP_LINE: Final = "HANGUP"
ENVIRONMENT_PREFIX: Final = "agi_"
CODE_OK: Final = 200
CODE_INVALID: Final = 510
CODE_DEAD_CHANNEL: Final = 511
CODE_USAGE: Final = 520
INVALID_TEXT: Final = "Invalid or unknown command"
DEAD_CHANNEL_TEXT: Final = "Command Not Permitted on a dead channel or intercept routine"
USAGE_HEAD: Final = "Invalid command syntax.  Proper usage follows:"
USAGE_TAIL: Final = "End of proper usage."
TIMEOUT_DATA: Final = "timeout"

_REPLY: Final = re.compile(
    r"(?P<code>\d{3}) result=(?P<result>\S*)(?: \((?P<data>[^)]*)\))?(?P<rest>(?: \S+=\S*)*)\s*"
)


class AgiPeerError(Exception):
    """The other end broke the protocol (a garbage line, an endless block): end the call."""


@dataclass(frozen=True, slots=True)
class Environment:
    """The variables Asterisk sends first (names without the `agi_` prefix)."""

    variables: Mapping[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.variables.get(name, default)

    @property
    def request(self) -> str:
        """`agi://host:port/path?query` (FastAGI) or the script's name (classic AGI)."""
        return self.get("request")

    @property
    def arguments(self) -> tuple[str, ...]:
        """`agi_arg_1`, `agi_arg_2`, ... in order (the dialplan's extra arguments)."""
        found: list[str] = []
        while f"arg_{len(found) + 1}" in self.variables:
            found.append(self.variables[f"arg_{len(found) + 1}"])
        return tuple(found)


@dataclass(frozen=True, slots=True)
class Reply:
    """One reply: `code` 200/510/511/520; for 200, `result` as sent (may be "" or "-1"),
    `data` the parenthesised part ("timeout", a variable's value) and `extras` the
    `key=value` pairs (`endpos`); for 5xx, `text` is the message or the usage block."""

    code: int
    result: str = ""
    data: str | None = None
    extras: Mapping[str, str] = field(default_factory=dict)
    text: str = ""

    @property
    def ok(self) -> bool:
        return self.code == CODE_OK

    @property
    def number(self) -> int | None:
        """`result` as an integer, None when it is not one (GET DATA's digits are a string)."""
        try:
            return int(self.result)
        except ValueError:
            return None

    @property
    def timed_out(self) -> bool:
        return self.data == TIMEOUT_DATA


class Hangup:
    """The `HANGUP` line: the caller is gone; replies still come (511 from now on)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Hangup()"


HANGUP: Final = Hangup()


class LineBuffer:
    """Bytes in, complete lines out (without `\\n` or `\\r\\n`), each at most `line_bytes_max`."""

    def __init__(self) -> None:
        self._data = bytearray()

    def feed(self, data: bytes) -> None:
        self._data += data

    def lines(self) -> Iterator[str]:
        """The complete lines received so far; raises AgiPeerError for an endless line."""
        while True:
            end = self._data.find(b"\n")
            if end < 0:
                if len(self._data) > line_bytes_max:
                    raise AgiPeerError(f"a line longer than {line_bytes_max} bytes")
                return
            if end > line_bytes_max:
                raise AgiPeerError(f"a line longer than {line_bytes_max} bytes")
            raw = bytes(self._data[:end]).removesuffix(b"\r")
            del self._data[: end + 1]
            # Caller names come in whatever the PBX was given: never fail a call on them.
            yield raw.decode("utf-8", errors="replace")

    @property
    def pending(self) -> int:
        """Bytes of an unfinished line."""
        return len(self._data)


class EnvironmentReader:
    """Collects `agi_*` lines until the blank line; `feed` answers the Environment then."""

    def __init__(self) -> None:
        self._variables: dict[str, str] = {}
        self._lines = 0

    def feed(self, line: str) -> Environment | None:
        if not line.strip():
            if not self._variables:
                raise AgiPeerError("an empty AGI environment")
            return Environment(dict(self._variables))
        self._lines += 1
        if self._lines > environment_lines_max:
            raise AgiPeerError(f"an AGI environment of more than {environment_lines_max} lines")
        name, sep, value = line.partition(":")
        if not sep or not name.startswith(ENVIRONMENT_PREFIX) or " " in name:
            raise AgiPeerError(f"not an AGI environment line: {_shown(line)}")
        self._variables[name.removeprefix(ENVIRONMENT_PREFIX)] = value.strip()
        return None


class ReplyReader:
    """Reply lines in, `Reply` or `HANGUP` out; None while a `520-` usage block goes on."""

    def __init__(self) -> None:
        self._usage: list[str] | None = None

    def feed(self, line: str) -> Reply | Hangup | None:
        if self._usage is not None:
            return self._usage_line(line)
        if line.strip() == HANGUP_LINE:
            return HANGUP
        if line.startswith(f"{CODE_USAGE}-"):
            self._usage = [line[4:]]
            return None
        match = _REPLY.fullmatch(line)
        if match is not None:
            return Reply(
                code=int(match["code"]),
                result=match["result"],
                data=match["data"],
                extras=dict(pair.split("=", 1) for pair in match["rest"].split()),
            )
        code, _, text = line.partition(" ")
        if len(code) == 3 and code.isdigit() and code[0] == "5":
            return Reply(code=int(code), text=text)
        raise AgiPeerError(f"not an AGI reply: {_shown(line)}")

    def _usage_line(self, line: str) -> Reply | None:
        assert self._usage is not None
        if line.startswith(f"{CODE_USAGE} "):
            self._usage.append(line[4:])
            text = "\n".join(self._usage)
            self._usage = None
            return Reply(code=CODE_USAGE, text=text)
        if len(self._usage) >= usage_lines_max:
            raise AgiPeerError(f"a 520 usage block of more than {usage_lines_max} lines")
        self._usage.append(line.removeprefix(f"{CODE_USAGE}-"))
        return None


def _shown(line: str) -> str:
    """A peer's line for a log or an error: bounded, control characters visible."""
    return repr(line[:80] + ("…" if len(line) > 80 else ""))


def _quote(word: str) -> str:
    if "\n" in word or "\r" in word:
        raise ValueError(f"an AGI argument cannot hold a line break: {word!r}")
    if word and not any(char in word for char in ' "\\\t'):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class Command:
    """One AGI command: its words (`("STREAM", "FILE")`) and arguments."""

    words: tuple[str, ...]
    arguments: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        assert self.words, "a command needs a name"
        assert all(word.isupper() and word.isalpha() for word in self.words), self.words

    @property
    def name(self) -> str:
        return " ".join(self.words)

    def encode(self) -> bytes:
        parts = [*self.words, *map(_quote, self.arguments)]
        return (" ".join(parts) + "\n").encode()


def parse_command(line: str) -> tuple[str, ...]:
    """A command line split into words as Asterisk's `parse_args` does: spaces separate,
    double quotes group, a backslash takes the next character as it is."""
    words: list[str] = []
    current: list[str] = []
    quoted = escaped = started = False
    for char in line:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = started = True
        elif char == '"':
            quoted = not quoted
            started = True
        elif char in " \t" and not quoted:
            if started:
                words.append("".join(current))
                current, started = [], False
        else:
            current.append(char)
            started = True
        if len(words) > command_words_max:
            raise AgiPeerError(f"a command of more than {command_words_max} words")
    if started:
        words.append("".join(current))
    return tuple(words)


def format_environment(variables: Mapping[str, str]) -> bytes:
    """The environment block as Asterisk sends it (names without `agi_`), blank line included."""
    lines = []
    for name, value in variables.items():
        if "\n" in value or "\r" in value or ":" in name:
            raise ValueError(f"an environment variable cannot be sent: {name!r}")
        lines.append(f"{ENVIRONMENT_PREFIX}{name}: {value}\n")
    return ("".join(lines) + "\n").encode()


def format_reply(result: int | str, data: str | None = None, *, endpos: int | None = None) -> bytes:
    """A `200` reply in Asterisk's form: `200 result=1`, `200 result= (timeout)`,
    `200 result=0 endpos=8000`."""
    line = f"{CODE_OK} result={result}"
    if data is not None:
        line += f" ({data})"
    if endpos is not None:
        line += f" endpos={endpos}"
    return (line + "\n").encode()


def format_error(code: int) -> bytes:
    """`510` or `511` with Asterisk's own text."""
    texts = {CODE_INVALID: INVALID_TEXT, CODE_DEAD_CHANNEL: DEAD_CHANNEL_TEXT}
    return f"{code} {texts[code]}\n".encode()


def format_usage(usage: str) -> bytes:
    """The multi-line `520` block Asterisk answers to a command with bad arguments."""
    body = "".join(f"{line}\n" for line in usage.splitlines())
    return f"{CODE_USAGE}-{USAGE_HEAD}\n{body}{CODE_USAGE} {USAGE_TAIL}\n".encode()


__all__ = [
    "CODE_DEAD_CHANNEL",
    "CODE_INVALID",
    "CODE_OK",
    "CODE_USAGE",
    "HANGUP",
    "HANGUP_LINE",
    "AgiPeerError",
    "Command",
    "Environment",
    "EnvironmentReader",
    "Hangup",
    "LineBuffer",
    "Reply",
    "ReplyReader",
    "format_environment",
    "format_error",
    "format_reply",
    "format_usage",
    "parse_command",
]
