"""What one emulated call did, for tests and benchmarks, and the log that writes it.

`CallRecord` holds every command with its reply and the platform's latency for it (from our
previous reply, or the environment, to the command's arrival: the platform's think time per
round trip), the prompts played, the keys the caller pressed, and how the call ended.
`CallLog` fills a record and publishes the matching events when somebody listens.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Final, Literal

from simulator.asterisk.events import (
    AsteriskEvents,
    AwaitingKeys,
    CallEnded,
    CallStarted,
    CommandAnswered,
    HungUp,
    KeyPressed,
    PromptPlaying,
    SoundMissing,
)
from simulator.asterisk.sounds import Sound

commands_per_call_max: Final = 10_000  # records kept; a runaway platform is still answered
prompts_per_call_max: Final = 10_000


class Ending(enum.Enum):
    CALLER_HUNG_UP = "caller hung up"  # the HANGUP line (FastAGI) or SIGHUP (classic) was sent
    DROPPED = "dropped"  # the connection closed with no HANGUP line
    PLATFORM_HUNG_UP = "platform hung up"  # HANGUP (or EXEC Hangup) from the platform
    SCRIPT_ENDED = "script ended"  # the platform closed with the channel up
    FAILED = "failed"  # no connection, or the platform broke the protocol: see `error`


@dataclass(frozen=True, slots=True)
class CommandRecord:
    line: str
    reply: str  # without the final line break ("" when the call dropped before answering)
    latency_ms: float
    at_ms: float  # since the call started


@dataclass(frozen=True, slots=True)
class PromptRecord:
    name: str
    language: str
    text: str
    ms: int  # what there was to play
    played_ms: int  # what the caller heard before a key, the end or a hang-up


@dataclass(slots=True)
class CallRecord:
    call_id: str
    channel: str
    caller: str | None
    language: str
    request: str
    commands: list[CommandRecord] = field(default_factory=list)
    prompts: list[PromptRecord] = field(default_factory=list)
    keys: str = ""  # every key the caller pressed while a command ran, taken or not
    lost_keys: str = ""  # pressed but not taken (not an escape digit, too many, too late)
    missing_sounds: list[str] = field(default_factory=list)
    ending: Ending | None = None
    error: str = ""
    closed_by: Literal["platform", "asterisk"] | None = None
    exit_code: int | None = None  # classic AGI: the program's exit status
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.ending is not None and self.ending is not Ending.FAILED

    @property
    def latencies_ms(self) -> list[float]:
        return [command.latency_ms for command in self.commands]

    @property
    def texts(self) -> list[str]:
        """What the caller heard, prompt by prompt."""
        return [prompt.text for prompt in self.prompts]

    @property
    def replies(self) -> list[str]:
        return [command.reply for command in self.commands]


class CallLog:
    """Writes one call's record and publishes its events."""

    __slots__ = ("_bus", "_clock", "_started", "record")

    def __init__(self, record: CallRecord, bus: AsteriskEvents) -> None:
        self.record = record
        self._bus = bus
        self._clock = time.perf_counter
        self._started = self._clock()

    def now_ms(self) -> float:
        return (self._clock() - self._started) * 1000

    def started(self) -> None:
        if self._bus.active:
            r = self.record
            self._bus.publish(CallStarted(r.call_id, r.channel, r.caller, r.language, r.request))

    def prompt(self, sound: Sound, ms: int) -> None:
        if self._bus.active:
            self._bus.publish(
                PromptPlaying(self.record.call_id, sound.name, sound.language, sound.text, ms)
            )

    def prompt_heard(self, sound: Sound, ms: int, played_ms: int) -> None:
        if len(self.record.prompts) < prompts_per_call_max:
            self.record.prompts.append(
                PromptRecord(sound.name, sound.language, sound.text, ms, played_ms)
            )

    def missing(self, name: str, language: str) -> None:
        self.record.missing_sounds.append(name)
        if self._bus.active:
            self._bus.publish(SoundMissing(self.record.call_id, name, language))

    def awaiting_keys(self) -> None:
        if self._bus.active:
            self._bus.publish(AwaitingKeys(self.record.call_id))

    def key(self, key: str, taken: bool) -> None:
        self.record.keys += key
        if not taken:
            self.record.lost_keys += key
        if self._bus.active:
            self._bus.publish(KeyPressed(self.record.call_id, key, taken))

    def answered(self, line: str, reply: bytes, latency_ms: float, at_ms: float) -> None:
        text = reply.decode().removesuffix("\n")
        if len(self.record.commands) < commands_per_call_max:
            self.record.commands.append(CommandRecord(line, text, latency_ms, at_ms))
        if self._bus.active:
            self._bus.publish(CommandAnswered(self.record.call_id, line, text, latency_ms))

    def hung_up(self, by: Literal["caller", "platform"], drop: bool) -> None:
        if self.record.ending is None:
            if drop:
                self.record.ending = Ending.DROPPED
            elif by == "caller":
                self.record.ending = Ending.CALLER_HUNG_UP
            else:
                self.record.ending = Ending.PLATFORM_HUNG_UP
        if self._bus.active:
            self._bus.publish(HungUp(self.record.call_id, by, drop))

    def failed(self, error: str) -> None:
        self.record.ending = Ending.FAILED
        self.record.error = error

    def ended(self) -> CallRecord:
        record = self.record
        if record.ending is None:
            record.ending = Ending.SCRIPT_ENDED
        record.duration_ms = self.now_ms()
        if self._bus.active:
            self._bus.publish(
                CallEnded(
                    record.call_id,
                    record.ending.value,
                    len(record.commands),
                    record.duration_ms,
                    record.error,
                )
            )
        return record


__all__ = ["CallLog", "CallRecord", "CommandRecord", "Ending", "PromptRecord"]
