"""What an emulated caller does: a script of steps, and the pacing of a caller in real time.

A script is a sequence of steps the caller takes in order; the channel asks the caller for keys
whenever a command listens (GET DATA, WAIT FOR DIGIT, a prompt with escape digits):

- `Press("123#")`: the next command that collects keys gets these keys. The caller hears the
  prompt out, thinks (`think_ms`, else drawn from the pacing's range), then presses one key
  every `key_gap_ms`. With `barge_in=True` the caller presses while a prompt plays: the step
  goes to the next prompt that can be interrupted (STREAM FILE / SAY with escape digits, the
  prompt of GET DATA), thinking counted from the prompt's start. A GET DATA that still wants
  digits after a press (no `#`, fewer than its maximum) goes on with the next step: another
  `Press` adds digits, `Wait()` lets it time out, `HangUp()` hangs up in the middle of it.
  Keys a command does not take (more than its maximum, keys pressed too late) are lost, as
  they are in Asterisk; a press none of whose keys came in time goes to the next command.
- `Wait(ms)`: stay silent `ms` before the next step (counted after the prompt, so a long wait
  makes a GET DATA time out); `Wait()` stays silent until the listening command gives up.
- `HangUp()`: hang up as soon as this step is reached (in the middle of a command if one
  listens, else right after the last reply); `HangUp(after_commands=N)` after N more replies;
  `HangUp(on_prompt=name)` half-way through that prompt. `drop=True` closes the connection
  with no `HANGUP` line (a lost link rather than a caller putting the phone down).

Outcomes do not depend on pacing: think times and gaps are compared with the commands'
time-outs in emulated milliseconds either way. Paced calls also take that time for real
(divided by `Pacing.speed`); unpaced calls never wait. When the script is used up the caller
stays silent, and hangs up if a command would wait for a key for ever.

A live caller (the terminal UI's keypad) is an `asyncio.Queue` of keys (`"1"`, or several at
once) and `HangUp` steps, read as they come, in real time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

DTMF_KEYS: Final = "0123456789*#ABCD"
think_ms_default: Final = (2_000, 4_000)  # a caller finding the next key, uniform
key_gap_ms_default: Final = 250  # between two keys of one press
script_steps_max: Final = 10_000


@dataclass(frozen=True, slots=True)
class Press:
    keys: str
    think_ms: int | None = None  # None: drawn from Pacing.think_ms
    barge_in: bool = False

    def __post_init__(self) -> None:
        if not self.keys or any(key not in DTMF_KEYS for key in self.keys):
            raise ValueError(f"DTMF keys are {DTMF_KEYS}, not {self.keys!r}")
        if self.think_ms is not None and self.think_ms < 0:
            raise ValueError(f"think_ms is at least 0, not {self.think_ms}")


@dataclass(frozen=True, slots=True)
class Wait:
    ms: int | None = None  # None: silent until the listening command gives up

    def __post_init__(self) -> None:
        if self.ms is not None and self.ms < 0:
            raise ValueError(f"a wait is at least 0 ms, not {self.ms}")


@dataclass(frozen=True, slots=True)
class HangUp:
    after_commands: int | None = None
    on_prompt: str | None = None
    drop: bool = False  # close the connection with no HANGUP line

    def __post_init__(self) -> None:
        if self.after_commands is not None and self.on_prompt is not None:
            raise ValueError("hang up after some commands or on a prompt, not both")
        if self.after_commands is not None and self.after_commands < 0:
            raise ValueError(f"after_commands is at least 0, not {self.after_commands}")


Step = Press | Wait | HangUp


@dataclass(frozen=True, slots=True)
class Pacing:
    """A caller's timing. `speed` > 1 runs paced calls faster than real time (tests)."""

    speed: float = 1.0
    think_ms: tuple[int, int] = think_ms_default
    key_gap_ms: int = key_gap_ms_default

    def __post_init__(self) -> None:
        low, high = self.think_ms
        if self.speed <= 0 or not 0 <= low <= high or self.key_gap_ms < 0:
            raise ValueError(f"bad pacing: {self!r}")


def check_script(steps: tuple[Step, ...]) -> None:
    if len(steps) > script_steps_max:
        raise ValueError(f"a script of more than {script_steps_max} steps")
    for step in steps:
        if not isinstance(step, Press | Wait | HangUp):
            raise TypeError(f"not a script step: {step!r}")


__all__ = ["DTMF_KEYS", "HangUp", "Pacing", "Press", "Step", "Wait", "check_script"]
