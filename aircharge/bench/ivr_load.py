"""The load of `aircharge bench ivr`, in a process of its own so that it does not share the
platform's core: the Asterisk emulator placing top-up calls into the FastAGI server.

    python -m aircharge.bench.ivr_load --port P --calls C --duration S [--paced] [--first K]
                                       [--baseline] [--speed X]

C callers, each placing one call after another until S seconds have passed (paced callers
arrive over the first third of S; the calls up are sampled each second after that). Every
call is a
whole top-up by the merchant 13800000003: 1 (top-up), the number and `#`, the amount `1#`
(¥1), the PIN, 1 (confirm). Unpaced, the caller answers at once; paced, prompts take their
spoken length and the caller thinks 2–4 s before each input, as people do.

It prints one JSON object: calls, completed (top-ups: calls that heard the top-up's success
prompt; with `--baseline`, against a stub server, calls the server hung up),
failures by reason, every command's round trip (the platform's time from the emulator's
reply to its next command) and the round trip of the command that ran the operation (the
first command after the confirming key).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any, Final

from aircharge.bench.platform import MERCHANT
from aircharge.ivr_sounds import platform_sounds
from dialogs.catalogue import Catalogue
from dialogs.render.ivr_speech import PROMPT_FOLDER
from simulator.asterisk.emulator import AsteriskEmulator, EmulatorConfig
from simulator.asterisk.record import CallRecord, Ending
from simulator.asterisk.script import Pacing, Press

PIN: Final = "333333"
SUBSCRIBERS: Final = tuple(f"139000000{n:02d}" for n in range(1, 11))
DONE_PROMPT: Final = f"{PROMPT_FOLDER}/topup.done.0"  # the first words of "topup succeeded"
CONFIRM_LINE: Final = "GET DATA"


def topup_script(number: str) -> tuple[Press, ...]:
    return (Press("1"), Press(f"{number}#"), Press("1#"), Press(PIN), Press("1"))


class _Tally:
    def __init__(self, baseline: bool) -> None:
        self.baseline = baseline
        self.calls = 0
        self.completed = 0
        self.failures: dict[str, int] = {}
        self.latencies_ms: list[float] = []
        self.operation_ms: list[float] = []
        self.active: list[int] = []  # calls up, sampled each second after the ramp

    def fail(self, reason: str) -> None:
        self.failures[reason] = self.failures.get(reason, 0) + 1

    def add(self, record: CallRecord) -> None:
        self.calls += 1
        if not record.ok:
            self.fail(record.error[:60] or "failed")
            return
        self.latencies_ms.extend(record.latencies_ms)
        if self.baseline:
            self.completed += record.ending is Ending.PLATFORM_HUNG_UP
            return
        if not any(prompt.name == DONE_PROMPT for prompt in record.prompts):
            self.fail(f"no success prompt ({record.ending.value if record.ending else '?'})")
            return
        self.completed += 1
        collects = [i for i, c in enumerate(record.commands) if c.line.startswith(CONFIRM_LINE)]
        if collects and collects[-1] + 1 < len(record.commands):
            self.operation_ms.append(record.commands[collects[-1] + 1].latency_ms)


async def run_load(
    host: str,
    port: int,
    calls: int,
    duration_s: float,
    paced: bool,
    first: int,
    baseline: bool,
    speed: float = 1.0,
) -> dict[str, Any]:
    sounds = platform_sounds(Catalogue.load())
    config = EmulatorConfig(call_s_max=300.0, pacing=Pacing(speed=speed))
    emulator = AsteriskEmulator(host, port, sounds, config=config)
    tally = _Tally(baseline)
    started = time.perf_counter()
    deadline = started + duration_s

    async def caller(index: int) -> None:
        turn = 0
        while time.perf_counter() < deadline:
            number = SUBSCRIBERS[(first + index + turn) % len(SUBSCRIBERS)]
            record = await emulator.place_call(
                "main", MERCHANT, "zh", topup_script(number), paced=paced
            )
            tally.add(record)
            turn += 1

    async def watch() -> None:
        """The calls up, each second from the end of the ramp to the deadline."""
        while time.perf_counter() < deadline:
            await asyncio.sleep(1.0)
            if time.perf_counter() >= started + ramp_s:
                tally.active.append(emulator.calls_active)

    # Paced callers arrive spread over the first third of the window, as calls come in, and
    # then each calls again as soon as its call ends: about `calls` calls up until the end.
    ramp_s = duration_s / 3 if paced else 0.0
    async with asyncio.TaskGroup() as group:
        watcher = group.create_task(watch())
        for index in range(calls):
            group.create_task(caller(index))
            if ramp_s:
                await asyncio.sleep(ramp_s / calls)
        await asyncio.sleep(0)  # let the last caller start before the watcher may end
    del watcher
    return {
        "seconds": time.perf_counter() - started,
        "calls": tally.calls,
        "completed": tally.completed,
        "failures": tally.failures,
        "latencies_ms": tally.latencies_ms,
        "operation_ms": tally.operation_ms,
        "active": tally.active,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--calls", type=int, required=True, help="concurrent callers")
    parser.add_argument("--duration", type=float, required=True, help="seconds")
    parser.add_argument("--paced", action="store_true")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--baseline", action="store_true", help="a stub server: no checks")
    parser.add_argument("--speed", type=float, default=1.0, help="paced time runs this fast")
    args = parser.parse_args()
    result = asyncio.run(
        run_load(
            args.host,
            args.port,
            args.calls,
            args.duration,
            args.paced,
            args.first,
            args.baseline,
            args.speed,
        )
    )
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
