"""Typed events of the Asterisk emulator, for the terminal UI (one bus: `simulator.events`).

Every event names its call by `call_id` (the call's `agi_uniqueid`). Events are frozen, slotted
dataclasses; the emulator builds them only when somebody listens (`EventBus.active`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from simulator.events import EventBus


@dataclass(frozen=True, slots=True)
class CallStarted:
    call_id: str
    channel: str
    caller: str | None  # None: withheld
    language: str
    request: str  # agi://host:port/path, or the AGI program


@dataclass(frozen=True, slots=True)
class PromptPlaying:
    call_id: str
    name: str
    language: str  # the folder it was found in (the channel's, else en)
    text: str
    ms: int  # what is left to play (from an offset on)


@dataclass(frozen=True, slots=True)
class SoundMissing:
    call_id: str
    name: str
    language: str


@dataclass(frozen=True, slots=True)
class AwaitingKeys:
    """The platform waits for keys with nothing playing (GET DATA after its sound, WAIT FOR
    DIGIT): a key pressed now is taken, whatever the pacing."""

    call_id: str


@dataclass(frozen=True, slots=True)
class KeyPressed:
    call_id: str
    key: str
    taken: bool  # False: the command in flight ignored it (not an escape digit)


@dataclass(frozen=True, slots=True)
class CommandAnswered:
    call_id: str
    command: str
    reply: str  # without the final line break; a 520 block keeps its inner ones
    latency_ms: float  # the platform's time from our previous reply to this command


@dataclass(frozen=True, slots=True)
class HungUp:
    call_id: str
    by: Literal["caller", "platform"]
    drop: bool  # the connection closed with no HANGUP line


@dataclass(frozen=True, slots=True)
class CallEnded:
    call_id: str
    ending: str  # an `Ending` value
    commands: int
    duration_ms: float
    error: str = ""


Event = (
    CallStarted | PromptPlaying | SoundMissing | AwaitingKeys | KeyPressed | CommandAnswered
    | HungUp | CallEnded
)  # fmt: skip
AsteriskEvents = EventBus[Event]

__all__ = [
    "AsteriskEvents",
    "AwaitingKeys",
    "CallEnded",
    "CallStarted",
    "CommandAnswered",
    "Event",
    "HungUp",
    "KeyPressed",
    "PromptPlaying",
    "SoundMissing",
]
