"""`AsteriskEmulator`: places calls into an AGI script as Asterisk would, and records them.

    emulator = AsteriskEmulator("127.0.0.1", 4573, SoundLibrary.from_texts(texts))
    record = await emulator.place_call("main", caller="13800000003", language="zh",
                                       script=[Press("1"), Press("13900000001#"), HangUp()])
    records = await emulator.place_calls([CallSpec(...), ...], concurrency=200)
    record = await emulator.run_agi(["aircharge", "agi"], script=[...])  # classic AGI

Each call is one task (no threads): a FastAGI connection or a classic AGI program, an
emulated channel (`simulator.asterisk.channel`), a caller (a script, or a live keypad queue)
and a `CallRecord`. A call that cannot reach its script ends `Ending.FAILED` with the reason
in `record.error`; nothing is raised.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Final

from channels.ivr.agi_wire import format_environment
from simulator.asterisk.caller import Caller, LiveCaller, ScriptedCaller
from simulator.asterisk.channel import Channel
from simulator.asterisk.environment import (
    Dialplan,
    agi_environment,
    call_identity,
    channel_variables,
)
from simulator.asterisk.events import AsteriskEvents
from simulator.asterisk.record import CallLog, CallRecord
from simulator.asterisk.script import HangUp, Pacing, Step
from simulator.asterisk.sounds import SoundLibrary
from simulator.asterisk.transport import (
    Conversation,
    Link,
    LinkError,
    PipeLink,
    SocketLink,
    connect_timeout_ms_default,
)
from simulator.events import EventBus

DEFAULT_PORT: Final = 4573
DEMO_CALLER: Final = "13800000003"  # the demo's agent merchant "Village Shop No. 3"
concurrency_default: Final = 100  # calls in flight at once in place_calls
concurrency_max: Final = 100_000

Script = Sequence[Step] | asyncio.Queue[str | HangUp]


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    connect_timeout_ms: int = connect_timeout_ms_default
    grace_ms: int = 2_000  # after the hang-up is announced, for the script to close
    call_s_max: float = 600.0  # real seconds; a longer call is closed and FAILED
    pacing: Pacing = field(default_factory=Pacing)
    dialplan: Dialplan = field(default_factory=Dialplan)
    sighup: bool = True  # classic AGI: SIGHUP the program on hang-up (Asterisk's AGISIGHUP)


@dataclass(frozen=True, slots=True)
class CallSpec:
    """One call for `place_calls`."""

    path: str = "main"
    caller: str | None = DEMO_CALLER
    language: str = "zh"
    script: Sequence[Step] = ()
    paced: bool = False
    arguments: tuple[str, ...] = ()


class AsteriskEmulator:
    """Asterisk as the platform sees it: calls arriving over FastAGI (or classic AGI)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        sounds: SoundLibrary | None = None,
        *,
        config: EmulatorConfig | None = None,
        seed: int = 0,
    ) -> None:
        self.host = host
        self.port = port
        self.sounds = sounds if sounds is not None else SoundLibrary.from_texts({})
        self.config = config or EmulatorConfig()
        self.events: AsteriskEvents = EventBus()
        self.calls_placed = 0
        self.calls_active = 0
        self._seed = seed
        self._epoch = int(time.time())

    async def place_call(
        self,
        path: str = "main",
        caller: str | None = DEMO_CALLER,
        language: str = "zh",
        script: Script = (),
        paced: bool = False,
        *,
        arguments: Sequence[str] = (),
        caller_name: str | None = None,
    ) -> CallRecord:
        """One call to `agi://host:port/path` from `caller` (None: withheld)."""
        request = f"agi://{self.host}:{self.port}/{path}"

        def connect() -> Awaitable[Link]:
            return SocketLink.connect(self.host, self.port, self.config.connect_timeout_ms)

        return await self._call(
            connect, request, path, caller, caller_name, language, script, paced, arguments
        )

    async def run_agi(
        self,
        program: Sequence[str],
        *,
        arguments: Sequence[str] = (),
        request: str | None = None,
        caller: str | None = DEMO_CALLER,
        caller_name: str | None = None,
        language: str = "zh",
        script: Script = (),
        paced: bool = False,
        stderr: int | IO[bytes] | None = subprocess.DEVNULL,
        env: Mapping[str, str] | None = None,
    ) -> CallRecord:
        """One call handed to a classic AGI program (`AGI(program,arguments...)`): it runs as
        `program + arguments`; `request` (`agi_request`) defaults to `program[0]`."""
        assert program, "an AGI program to run"
        argv = [*program, *arguments]

        def start() -> Awaitable[Link]:
            return PipeLink.start(argv, sighup=self.config.sighup, stderr=stderr, env=env)

        return await self._call(
            start, request or program[0], None, caller, caller_name, language, script, paced,
            arguments,
        )  # fmt: skip

    async def place_calls(
        self,
        calls: Iterable[CallSpec],
        *,
        concurrency: int = concurrency_default,
        calls_per_s: float | None = None,
    ) -> list[CallRecord]:
        """Many calls, at most `concurrency` at once, started no faster than `calls_per_s`;
        the records in the order of `calls`."""
        assert 0 < concurrency <= concurrency_max, concurrency
        assert calls_per_s is None or calls_per_s > 0, calls_per_s
        pending = iter(enumerate(calls))
        records: dict[int, CallRecord] = {}
        loop = asyncio.get_running_loop()
        next_start = loop.time()

        async def worker() -> None:
            nonlocal next_start
            for index, spec in pending:
                if calls_per_s is not None:
                    start, next_start = next_start, max(next_start, loop.time()) + 1 / calls_per_s
                    await asyncio.sleep(max(0.0, start - loop.time()))
                records[index] = await self.place_call(
                    spec.path, spec.caller, spec.language, spec.script, spec.paced,
                    arguments=spec.arguments,
                )  # fmt: skip

        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(worker())
        return [records[index] for index in sorted(records)]

    async def _call(
        self,
        open_link: Callable[[], Awaitable[Link]],
        request: str,
        network_script: str | None,
        caller: str | None,
        caller_name: str | None,
        language: str,
        script: Script,
        paced: bool,
        arguments: Sequence[str],
    ) -> CallRecord:
        self.calls_placed += 1
        number = self.calls_placed
        dialplan = self.config.dialplan
        identity = call_identity(self._epoch, number, dialplan.peer)
        log = CallLog(
            CallRecord(identity.uniqueid, identity.channel, caller, language, request),
            self.events,
        )
        log.started()
        the_caller = self._caller(script, paced, number)
        channel = Channel(
            name=identity.channel,
            language=language,
            sounds=self.sounds,
            caller=the_caller,
            log=log,
            variables=channel_variables(identity, language, caller, dialplan),
        )
        environment = agi_environment(
            request=request,
            network_script=network_script,
            identity=identity,
            language=language,
            caller=caller,
            caller_name=caller_name,
            dialplan=dialplan,
            arguments=arguments,
        )
        self.calls_active += 1
        try:
            try:
                link = await open_link()
            except LinkError as error:
                log.failed(f"{request}: {error}")
                return log.ended()
            conversation = Conversation(
                link, channel, the_caller, log, grace_ms=self.config.grace_ms
            )
            await conversation.run(format_environment(environment), self.config.call_s_max)
            return log.ended()
        finally:
            self.calls_active -= 1

    def _caller(self, script: Script, paced: bool, number: int) -> Caller:
        pacing = self.config.pacing
        if isinstance(script, asyncio.Queue):
            return LiveCaller(script, pacing, paced=paced)
        rng = random.Random(self._seed * 1_000_003 + number)  # noqa: S311 -- not for secrets
        return ScriptedCaller(script, pacing, paced=paced, rng=rng)


__all__ = [
    "DEFAULT_PORT",
    "DEMO_CALLER",
    "AsteriskEmulator",
    "CallSpec",
    "EmulatorConfig",
    "Script",
]
