"""One emulated Asterisk channel answering AGI commands as `res_agi.c` does.

`await channel.execute(line)` answers one command line with the bytes Asterisk would send.
Commands are matched on their words case-insensitively, the longest first (`find_command`);
handlers see `argv` as Asterisk's do (the command words included), so argument counts are
checked as there: too few or too many answer the 520 usage block. An unknown command answers
510. Once the hang-up has been announced (`dead`), only the commands Asterisk allows on a dead
channel run (EXEC, GET VARIABLE, NOOP, SET VARIABLE, VERBOSE); the others answer 511.

What the commands answer (`200 result=...`):

- ANSWER: `0`. HANGUP [channel]: `1` (another channel's name: `-1`), the hang-up is then
  announced.
- STREAM FILE name escape [offset]: `0 endpos=N` played out, `<ascii> endpos=N` stopped by an
  escape key, `-1 endpos=N` a hang-up or a missing sound (N in 8 kHz samples).
- GET DATA name [timeout_ms] [max]: `<digits>` (max reached, or `#`), `<digits> (timeout)`,
  `` (`#` first), `-1` a hang-up or a missing sound. With no time-out, 6 s for the first key
  and 2 s between keys; a negative one waits for ever. A key during the prompt stops it and
  counts.
- SAY DIGITS / SAY NUMBER: `0`, `<ascii>` an escape key, `-1` a hang-up.
- WAIT FOR DIGIT ms: `<ascii>`, `0` none, `-1` a hang-up; `-1` ms waits for ever.
- VERBOSE msg [level] `1`; NOOP `0`; SET VARIABLE `1`; GET VARIABLE `1 (value)` / `0`.
- CHANNEL STATUS [channel]: `4` ringing, `6` up (another channel's name: `-1`).
- EXEC app [args]: the application's result, `-2` for an application Asterisk lacks.

EXEC knows Answer, Hangup, NoOp, Verbose, Set, Wait and Playback. Time passes only in the
caller's `listen` (see `simulator.asterisk.caller`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

from channels.ivr.agi_wire import (
    CODE_DEAD_CHANNEL,
    CODE_INVALID,
    TIMEOUT_DATA,
    AgiPeerError,
    format_error,
    format_reply,
    format_usage,
    parse_command,
)
from simulator.asterisk.caller import Caller
from simulator.asterisk.record import CallLog
from simulator.asterisk.say import digit_sounds, number_sounds
from simulator.asterisk.script import DTMF_KEYS, HangUp
from simulator.asterisk.sounds import SAMPLES_PER_MS, Sound, SoundLibrary

STATE_RING: Final = 4  # AST_STATE_RING: an incoming call not answered yet
STATE_UP: Final = 6  # AST_STATE_UP
RESULT_NO_APP: Final = -2  # EXEC of an application Asterisk does not have
GETDATA_TERMINATOR: Final = "#"
getdata_first_ms_default: Final = 6_000  # ast_app_getdata_full: no time-out given
getdata_next_ms_default: Final = 2_000
getdata_digits_max: Final = 1_024  # handle_getdata's buffer
variables_max: Final = 1_000  # per channel

_INT: Final = re.compile(r"\s*[+-]?\d+")

Handler = Callable[["Channel", tuple[str, ...]], Awaitable[bytes | None]]  # None: show usage


@dataclass(frozen=True, slots=True)
class _Spec:
    handler: Handler
    dead_ok: bool  # Asterisk runs it on a dead channel
    usage: str


@dataclass(frozen=True, slots=True)
class _Played:
    key: str | None  # the escape key that stopped it
    position_ms: int
    hung_up: bool


def _scan_int(text: str) -> int | None:
    """`sscanf(text, "%d")`: a leading integer, None when there is none."""
    match = _INT.match(text)
    return int(match[0]) if match else None


def _atoi(text: str) -> int:
    return _scan_int(text) or 0


class Channel:
    """One call's channel: its state, variables and the commands' behaviour."""

    def __init__(
        self,
        *,
        name: str,
        language: str,
        sounds: SoundLibrary,
        caller: Caller,
        log: CallLog,
        variables: Mapping[str, str] = {},
    ) -> None:
        self.name = name
        self.language = language
        self.state = STATE_RING
        self.variables = dict(variables)
        self.hangup: HangUp | None = None  # the caller hung up (to announce)
        self.platform_hung_up = False  # HANGUP / EXEC Hangup (to announce)
        self.dead = False  # the hang-up was announced
        self._sounds = sounds
        self._caller = caller
        self._log = log

    @property
    def hung_up(self) -> bool:
        return self.hangup is not None or self.platform_hung_up

    async def execute(self, line: str) -> bytes:
        try:
            argv = parse_command(line)
        except AgiPeerError:
            return format_error(CODE_INVALID)
        spec = _find(argv)
        if spec is None:
            return format_error(CODE_INVALID)
        if self.dead and not spec.dead_ok:
            return format_error(CODE_DEAD_CHANNEL)
        self._caller.command_started()
        try:
            reply = await spec.handler(self, argv)
        finally:
            self._caller.command_done()
        return format_usage(spec.usage) if reply is None else reply

    # -- the commands -------------------------------------------------------------------------

    async def answer(self, argv: tuple[str, ...]) -> bytes | None:
        self.state = STATE_UP
        return format_reply(0)

    async def hangup_command(self, argv: tuple[str, ...]) -> bytes | None:
        if len(argv) > 2:
            return None
        if len(argv) == 2 and argv[1] != self.name:
            return format_reply(-1)
        self.platform_hung_up = True
        return format_reply(1)

    async def stream_file(self, argv: tuple[str, ...]) -> bytes | None:
        if not 4 <= len(argv) <= 5:
            return None
        offset = _scan_int(argv[4]) if len(argv) == 5 else 0
        if offset is None:
            return None
        sound = self._find(argv[2])
        if sound is None:
            return format_reply(-1, endpos=offset)
        played = await self._play(sound, argv[3], min(max(0, offset), sound.samples))
        endpos = played.position_ms * SAMPLES_PER_MS
        if played.hung_up:
            return format_reply(-1, endpos=endpos)
        if played.key is not None:
            return format_reply(ord(played.key), endpos=endpos)
        return format_reply(0, endpos=sound.samples)

    async def get_data(self, argv: tuple[str, ...]) -> bytes | None:
        if len(argv) < 3:
            return None
        timeout = _atoi(argv[3]) if len(argv) >= 4 else 0
        most = min(_atoi(argv[4]), getdata_digits_max) if len(argv) >= 5 else getdata_digits_max
        first_ms: int | None = getdata_first_ms_default
        next_ms: int | None = getdata_next_ms_default
        if timeout != 0:
            first_ms = next_ms = timeout if timeout > 0 else None
        digits: list[str] = []
        sound = self._find(argv[2]) if argv[2] else None
        if (argv[2] and sound is None) or most == 0:
            return format_reply(-1)
        if sound is not None:
            played = await self._play(sound, DTMF_KEYS)
            if played.hung_up:
                return format_reply(-1)
            done = None if played.key is None else _collect(played.key, digits, most)
            if done is not None:
                return done
        window = next_ms if digits else first_ms
        while True:
            self._log.awaiting_keys()
            heard = await self._caller.listen(window, playing=None, accepts=DTMF_KEYS)
            if heard.hangup is not None:
                self.hangup = heard.hangup
                return format_reply(-1)
            if heard.key is None:
                return format_reply("".join(digits), TIMEOUT_DATA)
            self._log.key(heard.key, taken=True)
            done = _collect(heard.key, digits, most)
            if done is not None:
                return done
            window = next_ms

    async def say_digits(self, argv: tuple[str, ...]) -> bytes | None:
        if len(argv) != 4 or _scan_int(argv[2]) is None:
            return None
        return await self._say(digit_sounds(argv[2]), argv[3])

    async def say_number(self, argv: tuple[str, ...]) -> bytes | None:
        number = _scan_int(argv[2]) if 4 <= len(argv) <= 5 else None
        if number is None:
            return None
        names = number_sounds(number)
        return format_reply(-1) if names is None else await self._say(names, argv[3])

    async def wait_for_digit(self, argv: tuple[str, ...]) -> bytes | None:
        ms = _scan_int(argv[3]) if len(argv) == 4 else None
        if ms is None:
            return None
        self._log.awaiting_keys()
        heard = await self._caller.listen(None if ms < 0 else ms, playing=None, accepts=DTMF_KEYS)
        if heard.hangup is not None:
            self.hangup = heard.hangup
            return format_reply(-1)
        if heard.key is None:
            return format_reply(0)
        self._log.key(heard.key, taken=True)
        return format_reply(ord(heard.key))

    async def verbose(self, argv: tuple[str, ...]) -> bytes | None:
        return None if len(argv) < 2 else format_reply(1)

    async def noop(self, argv: tuple[str, ...]) -> bytes | None:
        return format_reply(0)

    async def set_variable(self, argv: tuple[str, ...]) -> bytes | None:
        if len(argv) != 4:
            return None
        self._set(argv[2], argv[3])
        return format_reply(1)

    async def get_variable(self, argv: tuple[str, ...]) -> bytes | None:
        if len(argv) != 3:
            return None
        value = self.variables.get(argv[2])
        return format_reply(0) if value is None else format_reply(1, value)

    async def channel_status(self, argv: tuple[str, ...]) -> bytes | None:
        if len(argv) > 3:
            return None
        if len(argv) == 3 and argv[2] != self.name:
            return format_reply(-1)
        return format_reply(self.state)

    async def exec_command(self, argv: tuple[str, ...]) -> bytes | None:
        if len(argv) < 2:
            return None
        app = _APPS.get(argv[1].lower())
        if app is None:
            return format_reply(RESULT_NO_APP)
        return format_reply(await app(self, argv[2] if len(argv) > 2 else ""))

    # -- EXEC's applications (their result; -1: the channel hung up) --------------------------

    async def _app_answer(self, args: str) -> int:
        if self.hung_up:
            return -1
        self.state = STATE_UP
        return 0

    async def _app_hangup(self, args: str) -> int:
        self.platform_hung_up = True
        return -1

    async def _app_noop(self, args: str) -> int:
        return 0

    async def _app_set(self, args: str) -> int:
        name, _, value = args.partition("=")
        self._set(name.strip(), value)
        return 0

    async def _app_wait(self, args: str) -> int:
        try:
            seconds = float(args or 0)
        except ValueError:
            seconds = 0.0
        if self.hung_up:
            return -1
        heard = await self._caller.listen(max(0, round(seconds * 1000)), playing=None, accepts="")
        if heard.hangup is not None:
            self.hangup = heard.hangup
            return -1
        return 0

    async def _app_playback(self, args: str) -> int:
        status = "SUCCESS"
        for name in args.partition(",")[0].split("&"):
            if self.hung_up:
                return -1
            sound = self._find(name.strip())
            if sound is None:
                status = "FAILED"  # app_playback warns and goes on with the next file
                continue
            if (await self._play(sound, "")).hung_up:
                return -1
        self._set("PLAYBACKSTATUS", status)
        return 0

    # -- helpers ------------------------------------------------------------------------------

    def _find(self, name: str) -> Sound | None:
        sound = self._sounds.find(name, self.language)
        if sound is None:
            self._log.missing(name, self.language)
        return sound

    def _set(self, name: str, value: str) -> None:
        if name in self.variables or len(self.variables) < variables_max:
            self.variables[name] = value

    async def _play(self, sound: Sound, escape: str, offset_samples: int = 0) -> _Played:
        """Play `sound` from an offset; an escape key stops it, other keys are ignored."""
        start_ms = offset_samples // SAMPLES_PER_MS
        ms = sound.ms - start_ms
        self._log.prompt(sound, ms)
        elapsed = 0
        played = _Played(None, sound.ms, False)
        while True:
            heard = await self._caller.listen(ms - elapsed, playing=sound.name, accepts=escape)
            elapsed = min(ms, elapsed + heard.at_ms)
            if heard.hangup is not None:
                self.hangup = heard.hangup
                played = _Played(None, start_ms + elapsed, True)
                break
            if heard.key is None:
                elapsed = ms
                break
            taken = heard.key in escape
            self._log.key(heard.key, taken)
            if taken:
                played = _Played(heard.key, start_ms + elapsed, False)
                break
        self._log.prompt_heard(sound, ms, elapsed)
        return played

    async def _say(self, names: list[str], escape: str) -> bytes:
        for name in names:
            sound = self._find(name)
            if sound is None:
                return format_reply(-1)
            played = await self._play(sound, escape)
            if played.hung_up:
                return format_reply(-1)
            if played.key is not None:
                return format_reply(ord(played.key))
        return format_reply(0)


def _collect(key: str, digits: list[str], most: int) -> bytes | None:
    """A key of GET DATA (`ast_readstring_full`): `#` ends it (`#` first: empty result), as
    does the last digit allowed; None while it goes on."""
    if key == GETDATA_TERMINATOR:
        return format_reply("".join(digits))
    digits.append(key)
    return format_reply("".join(digits)) if len(digits) >= most else None


# Usage texts as Asterisk 1.4's res_agi.c gives them (the 520 block's body).
_USAGE: Final = {
    "ANSWER": " Usage: ANSWER\n"
    "\tAnswers channel if not already in answer state. Returns -1 on\n"
    "\tchannel failure, or 0 if successful.",
    "HANGUP": " Usage: HANGUP [<channelname>]\n"
    "\tHangs up the specified channel.\n"
    "\tIf no channel name is given, hangs up the current channel",
    "STREAM FILE": " Usage: STREAM FILE <filename> <escape digits> [sample offset]\n"
    "\tSend the given file, allowing playback to be interrupted by the given\n"
    "\tdigits, if any. Use double quotes for the digits if you wish none to be\n"
    "\tpermitted. If sample offset is provided then the audio will seek to sample\n"
    "\toffset before play starts.  Returns 0 if playback completes without a digit\n"
    "\tbeing pressed, or the ASCII numerical value of the digit if one was pressed,\n"
    "\tor -1 on error or if the channel was disconnected. Remember, the file\n"
    "\textension must not be included in the filename.",
    "GET DATA": " Usage: GET DATA <file to be streamed> [timeout] [max digits]\n"
    "\tStream the given file, and recieve DTMF data. Returns the digits received\n"
    "from the channel at the other end.",
    "SAY DIGITS": " Usage: SAY DIGITS <number> <escape digits>\n"
    "\tSay a given digit string, returning early if any of the given DTMF digits\n"
    "\tare received on the channel. Returns 0 if playback completes without a digit\n"
    "\tbeing pressed, or the ASCII numerical value of the digit if one was pressed or\n"
    "\t-1 on error/hangup.",
    "SAY NUMBER": " Usage: SAY NUMBER <number> <escape digits> [gender]\n"
    "\tSay a given number, returning early if any of the given DTMF digits\n"
    "\tare received on the channel.  Returns 0 if playback completes without a digit\n"
    "\tbeing pressed, or the ASCII numerical value of the digit if one was pressed or\n"
    "\t-1 on error/hangup.",
    "WAIT FOR DIGIT": " Usage: WAIT FOR DIGIT <timeout>\n"
    "\tWaits up to 'timeout' milliseconds for channel to receive a DTMF digit.\n"
    "\tReturns -1 on channel failure, 0 if no digit is received in the timeout, or\n"
    "\tthe numerical value of the ascii of the digit if one is received.  Use -1\n"
    "\tfor the timeout value if you desire the call to block indefinitely.",
    "VERBOSE": " Usage: VERBOSE <message> <level>\n"
    "\tSends <message> to the console via verbose message system.\n"
    "\t<level> is the the verbose level (1-4)\n"
    "\tAlways returns 1.",
    "NOOP": " Usage: NoOp\n\tDoes nothing.",
    "SET VARIABLE": " Usage: SET VARIABLE <variablename> <value>",
    "GET VARIABLE": " Usage: GET VARIABLE <variablename>\n"
    "\tReturns 0 if <variablename> is not set.  Returns 1 if <variablename>\n"
    "\tis set and returns the variable in parentheses.\n"
    "\texample return code: 200 result=1 (testvariable)",
    "CHANNEL STATUS": " Usage: CHANNEL STATUS [<channelname>]\n"
    "\tReturns the status of the specified channel.\n"
    "\tIf no channel name is given the returns the status of the\n"
    "\tcurrent channel.  Return values:\n"
    "\t0 Channel is down and available\n"
    "\t1 Channel is down, but reserved\n"
    "\t2 Channel is off hook\n"
    "\t3 Digits (or equivalent) have been dialed\n"
    "\t4 Line is ringing\n"
    "\t5 Remote end is ringing\n"
    "\t6 Line is up\n"
    "\t7 Line is busy",
    "EXEC": " Usage: EXEC <application> <options>\n"
    "\tExecutes <application> with given <options>.\n"
    "\tReturns whatever the application returns, or -2 on failure to find application",
}

_HANDLERS: Final[dict[str, tuple[Handler, bool]]] = {
    "ANSWER": (Channel.answer, False),
    "HANGUP": (Channel.hangup_command, False),
    "STREAM FILE": (Channel.stream_file, False),
    "GET DATA": (Channel.get_data, False),
    "SAY DIGITS": (Channel.say_digits, False),
    "SAY NUMBER": (Channel.say_number, False),
    "WAIT FOR DIGIT": (Channel.wait_for_digit, False),
    "VERBOSE": (Channel.verbose, True),
    "NOOP": (Channel.noop, True),
    "SET VARIABLE": (Channel.set_variable, True),
    "GET VARIABLE": (Channel.get_variable, True),
    "CHANNEL STATUS": (Channel.channel_status, False),
    "EXEC": (Channel.exec_command, True),
}
_COMMANDS: Final = {
    tuple(name.split()): _Spec(handler, dead_ok, _USAGE[name])
    for name, (handler, dead_ok) in _HANDLERS.items()
}
_COMMAND_WORDS_MAX: Final = max(len(words) for words in _COMMANDS)
_APPS: Final[dict[str, Callable[[Channel, str], Awaitable[int]]]] = {
    "answer": Channel._app_answer,
    "hangup": Channel._app_hangup,
    "noop": Channel._app_noop,
    "verbose": Channel._app_noop,
    "set": Channel._app_set,
    "wait": Channel._app_wait,
    "playback": Channel._app_playback,
}


def _find(argv: tuple[str, ...]) -> _Spec | None:
    """The command whose words start the line (case-insensitive), the longest first."""
    for size in range(min(_COMMAND_WORDS_MAX, len(argv)), 0, -1):
        spec = _COMMANDS.get(tuple(word.upper() for word in argv[:size]))
        if spec is not None:
            return spec
    return None


__all__ = ["STATE_RING", "STATE_UP", "Channel"]
