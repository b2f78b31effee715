"""The caller at the far end of an emulated channel: scripted, or live from a keypad queue.

The channel asks its caller one question, `listen(window_ms, playing=..., accepts=...)`: "what
do you do in the next `window_ms` (None: for ever)?", while a prompt plays (`playing` names
it) or while it waits for keys (`playing` None); `accepts` is the keys the command takes (""
when it takes none). The answer is a `Heard`: a key and when it came, nothing for the whole
window, or a hang-up and when. All time here is emulated milliseconds; a paced caller also
takes it for real.

Around commands the channel tells the caller `command_started` / `command_done` and, after
the environment and after each reply, asks `hangup_due(replied=...)`: a scripted hang-up
between commands. A live caller hangs up through the callback given to `start`, at any time.
See `simulator.asterisk.script` for what the steps mean.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from simulator.asterisk.script import DTMF_KEYS, HangUp, Pacing, Press, Step, Wait, check_script

GIVE_UP: HangUp = HangUp()  # the caller's own hang-up when there is nothing left to wait for


@dataclass(frozen=True, slots=True)
class Heard:
    key: str | None = None  # None: no key within the window (or a hang-up)
    at_ms: int = 0  # emulated ms into the window
    hangup: HangUp | None = None


class Caller(Protocol):
    def start(self, hang_up: Callable[[HangUp], None]) -> None: ...

    def command_started(self) -> None: ...

    def command_done(self) -> None: ...

    def hangup_due(self, *, replied: bool) -> HangUp | None: ...

    async def listen(
        self, window_ms: int | None, *, playing: str | None, accepts: str
    ) -> Heard: ...

    def close(self) -> None: ...


class ScriptedCaller:
    """A caller following a script (see `simulator.asterisk.script`)."""

    def __init__(
        self, steps: Sequence[Step], pacing: Pacing, *, paced: bool, rng: random.Random
    ) -> None:
        self._steps = tuple(steps)
        check_script(self._steps)
        self._pacing = pacing
        self._paced = paced
        self._rng = rng
        self._next = 0  # the current step
        self._replies = 0
        self._reached_at = 0  # replies when the current step was reached
        self._keys: deque[str] = deque()  # the current press's keys still to press
        self._pressed = 0  # keys of the current press pressed so far
        self._delay_ms = 0  # emulated ms from now to the caller's next action
        self._silent = False  # Wait(): quiet until the command in flight ends
        self._hung_up: HangUp | None = None

    def start(self, hang_up: Callable[[HangUp], None]) -> None:
        pass  # a script hangs up from `listen` and `hangup_due`

    def close(self) -> None:
        pass

    def command_started(self) -> None:
        pass

    def command_done(self) -> None:
        if self._keys:
            if not self._pressed:
                self._next -= 1  # none of it came in time: the press goes to the next command
            self._keys.clear()
        self._delay_ms = 0
        self._silent = False

    def hangup_due(self, *, replied: bool) -> HangUp | None:
        self._replies += replied
        step = self._current()
        if self._hung_up is None and isinstance(step, HangUp) and self._counted(step):
            self._advance()
            self._hung_up = step
            return step
        return None

    async def listen(self, window_ms: int | None, *, playing: str | None, accepts: str) -> Heard:
        if self._hung_up is not None:
            return Heard(hangup=self._hung_up)
        while True:
            if self._keys:
                return await self._next_key(window_ms)
            if self._silent:
                return await self._quiet(window_ms)
            step = self._current()
            collecting = bool(accepts) and playing is None
            if isinstance(step, HangUp) and self._hangs_up_now(step, playing):
                return await self._hang_up(step, window_ms, playing)
            if isinstance(step, Wait) and collecting:
                self._advance()
                if step.ms is None:
                    self._silent = True
                else:
                    self._delay_ms += step.ms
                continue
            if isinstance(step, Press) and accepts and (playing is None or step.barge_in):
                self._advance()
                self._keys.extend(step.keys)
                self._pressed = 0
                self._delay_ms += self._think(step)
                continue
            return await self._quiet(window_ms)

    def _current(self) -> Step | None:
        return self._steps[self._next] if self._next < len(self._steps) else None

    def _advance(self) -> None:
        self._next += 1
        self._reached_at = self._replies

    def _counted(self, step: HangUp) -> bool:
        if step.on_prompt is not None:
            return False
        counted = self._replies - self._reached_at
        return step.after_commands is None or counted >= step.after_commands

    def _hangs_up_now(self, step: HangUp, playing: str | None) -> bool:
        if step.on_prompt is not None:
            return playing == step.on_prompt
        return self._counted(step)

    def _think(self, press: Press) -> int:
        if press.think_ms is not None:
            return press.think_ms
        return self._rng.randint(*self._pacing.think_ms)

    async def _next_key(self, window_ms: int | None) -> Heard:
        if window_ms is not None and self._delay_ms >= window_ms:
            self._delay_ms -= window_ms
            await self._pace(window_ms)
            return Heard(at_ms=window_ms)
        at = self._delay_ms
        key = self._keys.popleft()
        self._pressed += 1
        self._delay_ms = self._pacing.key_gap_ms if self._keys else 0
        await self._pace(at)
        return Heard(key=key, at_ms=at)

    async def _hang_up(self, step: HangUp, window_ms: int | None, playing: str | None) -> Heard:
        at = (window_ms or 0) // 2 if playing is not None else self._delay_ms
        if window_ms is not None and at >= window_ms > 0:
            return await self._quiet(window_ms)
        self._advance()
        self._hung_up = step
        await self._pace(at)
        return Heard(at_ms=at, hangup=step)

    async def _quiet(self, window_ms: int | None) -> Heard:
        if window_ms is None:  # nothing will come and the command would wait for ever
            self._hung_up = GIVE_UP
            return Heard(hangup=GIVE_UP)
        self._delay_ms = max(0, self._delay_ms - window_ms)
        await self._pace(window_ms)
        return Heard(at_ms=window_ms)

    async def _pace(self, ms: int) -> None:
        if self._paced and ms > 0:
            await asyncio.sleep(ms / 1000 / self._pacing.speed)


class LiveCaller:
    """A caller at a keypad: keys and `HangUp` steps from a queue, as they come, in real time.
    Keys pressed while no command runs are lost, as Asterisk reads and drops them."""

    def __init__(self, queue: asyncio.Queue[str | HangUp], pacing: Pacing, *, paced: bool) -> None:
        self._queue = queue
        self._speed = pacing.speed
        self._paced = paced
        self._heard: deque[str] = deque()
        self._wake = asyncio.Event()
        self._in_command = False
        self._hung_up: HangUp | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self, hang_up: Callable[[HangUp], None]) -> None:
        self._task = asyncio.create_task(self._pump(hang_up))

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _pump(self, hang_up: Callable[[HangUp], None]) -> None:
        while True:
            item = await self._queue.get()
            if isinstance(item, HangUp):
                self._hung_up = item
                self._wake.set()
                hang_up(item)
                return
            if self._in_command:
                self._heard.extend(key for key in item if key in DTMF_KEYS)
                self._wake.set()

    def command_started(self) -> None:
        self._in_command = True

    def command_done(self) -> None:
        self._in_command = False
        self._heard.clear()

    def hangup_due(self, *, replied: bool) -> HangUp | None:
        return None  # a live hang-up comes through the callback given to `start`

    async def listen(self, window_ms: int | None, *, playing: str | None, accepts: str) -> Heard:
        if playing is not None and not self._paced:
            window_ms = 0  # an unpaced prompt takes no time: only keys already pressed count
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = None if window_ms is None else started + window_ms / 1000 / self._speed
        while not self._heard and self._hung_up is None:
            timeout = None if deadline is None else deadline - loop.time()
            if timeout is not None and timeout <= 0:
                return Heard(at_ms=window_ms or 0)
            self._wake.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                return Heard(at_ms=window_ms or 0)
        at = round((loop.time() - started) * 1000 * self._speed)
        if window_ms is not None:
            at = min(at, window_ms)
        if self._hung_up is not None:
            return Heard(at_ms=at, hangup=self._hung_up)
        return Heard(key=self._heard.popleft(), at_ms=at)


__all__ = ["Caller", "Heard", "LiveCaller", "ScriptedCaller"]
