"""The Asterisk emulator: calls placed into a FastAGI server (or a classic AGI program) as
Asterisk places them, answered in Asterisk's formats, recorded for tests and benchmarks.

- `AsteriskEmulator(host, port, sounds, config=EmulatorConfig(...), seed=0)`:
  `await place_call(path, caller, language, script, paced)`, `await place_calls(specs)`,
  `await run_agi(program, ...)`; events on `emulator.events` (`subscribe()`, `add_callback`).
- `SoundLibrary.from_texts({...})` / `SoundLibrary.load(DIR)`: what each sound name plays.
- Script steps `Press`, `Wait`, `HangUp`; `Pacing` for paced calls; a live caller is an
  `asyncio.Queue` of keys and `HangUp` steps.
- `CallRecord`: commands with replies and latencies, prompts, keys, the `Ending`.

It reaches the platform only over AGI, framed by the codec of `channels.ivr.agi_wire`.
"""

from simulator.asterisk.channel import STATE_RING, STATE_UP, Channel
from simulator.asterisk.emulator import (
    DEFAULT_PORT,
    DEMO_CALLER,
    AsteriskEmulator,
    CallSpec,
    EmulatorConfig,
    Script,
)
from simulator.asterisk.environment import ASTERISK_VERSION, Dialplan
from simulator.asterisk.events import (
    AsteriskEvents,
    AwaitingKeys,
    CallEnded,
    CallStarted,
    CommandAnswered,
    Event,
    HungUp,
    KeyPressed,
    PromptPlaying,
    SoundMissing,
)
from simulator.asterisk.record import CallRecord, CommandRecord, Ending, PromptRecord
from simulator.asterisk.script import DTMF_KEYS, HangUp, Pacing, Press, Step, Wait
from simulator.asterisk.sounds import Sound, SoundLibrary, estimate_ms

__all__ = [
    "ASTERISK_VERSION",
    "DEFAULT_PORT",
    "DEMO_CALLER",
    "DTMF_KEYS",
    "STATE_RING",
    "STATE_UP",
    "AsteriskEmulator",
    "AsteriskEvents",
    "AwaitingKeys",
    "CallEnded",
    "CallRecord",
    "CallSpec",
    "CallStarted",
    "Channel",
    "CommandAnswered",
    "CommandRecord",
    "Dialplan",
    "EmulatorConfig",
    "Ending",
    "Event",
    "HangUp",
    "HungUp",
    "KeyPressed",
    "Pacing",
    "Press",
    "PromptPlaying",
    "PromptRecord",
    "Script",
    "Sound",
    "SoundLibrary",
    "SoundMissing",
    "Step",
    "Wait",
    "estimate_ms",
]
