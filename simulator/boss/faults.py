"""Seeded fault injection for the BOSS emulator's mutating endpoints.

`PUT /boss/faults` sets a `FaultConfig`; every mutating call then draws one number from
`random.Random(seed)` (reset by each PUT), in arrival order, so the same seed and the same
sequence of calls give the same faults. The draw picks, by cumulative rate: time-out (no answer,
nothing applied), error (503, nothing applied), lost response (applied, no answer), late apply
(503 now, applied after `late_apply_ms`), otherwise a normal call; with `late_apply_ms` set and
no `late_apply_rate`, every call not otherwise faulted applies late.
`latency_ms` delays every mutating call. Status and subscriber queries are never faulted.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from aiohttp import web

from simulator.boss.validation import InvalidInputError, check_fields

logger = logging.getLogger(__name__)

FAULT_HOLD_MAX_S = 300.0  # a call that "never answers" gives up after this, answering 503
LATENCY_MAX_MS = 60_000
LATE_APPLY_MAX_MS = 600_000
SEED_MAX = 2**63 - 1

_T = TypeVar("_T")


class Fault(enum.Enum):
    """What happens to one mutating call."""

    NONE = "none"
    TIMEOUT = "timeout"
    ERROR = "error"
    LOST_RESPONSE = "lost_response"
    LATE_APPLY = "late_apply"


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """The fault settings; all zero means a well-behaved BOSS."""

    latency_ms: int = 0
    timeout_rate: float = 0.0
    error_rate: float = 0.0
    lost_response_rate: float = 0.0
    late_apply_rate: float = 0.0  # 0 with `late_apply_ms` set: every other call applies late
    late_apply_ms: int = 0
    seed: int = 0

    @classmethod
    def from_json(cls, body: object) -> FaultConfig:
        """Parse a PUT body; absent keys are zero; InvalidInputError names a bad field."""
        if not isinstance(body, Mapping):
            raise InvalidInputError("the body must be a JSON object")
        check_fields(body, required=(), optional=[f for f in cls.__dataclass_fields__])
        rates = {name: _rate(body, name) for name in _RATES}
        if sum(rates.values()) > 1:
            raise InvalidInputError(f"{' + '.join(_RATES)} must not exceed 1")
        if rates["late_apply_rate"] and not body.get("late_apply_ms"):
            raise InvalidInputError("late_apply_rate needs late_apply_ms (the delay)")
        return cls(
            latency_ms=_whole(body, "latency_ms", LATENCY_MAX_MS),
            late_apply_ms=_whole(body, "late_apply_ms", LATE_APPLY_MAX_MS),
            seed=_whole(body, "seed", SEED_MAX),
            **rates,
        )

    def to_json(self) -> dict[str, Any]:
        """The settings as GET /boss/faults answers them."""
        return asdict(self)


_RATES = ("timeout_rate", "error_rate", "lost_response_rate", "late_apply_rate")


def _rate(body: Mapping[str, Any], name: str) -> float:
    value = body.get(name, 0)
    if type(value) not in (int, float) or not 0 <= value <= 1:
        raise InvalidInputError(f"{name} must be a number from 0 to 1")
    return float(value)


def _whole(body: Mapping[str, Any], name: str, maximum: int) -> int:
    value = body.get(name, 0)
    if type(value) is not int or not 0 <= value <= maximum:
        raise InvalidInputError(f"{name} must be an integer from 0 to {maximum}")
    return int(value)


class FaultPlan:
    """The reproducible sequence of faults for one configuration."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.config = config or FaultConfig()
        # Reproducible on purpose: a seed replays the same run (not for secrets).
        self._random = random.Random(self.config.seed)  # noqa: S311

    def next_fault(self) -> Fault:
        """The fault for the next mutating call (one draw, whatever the configuration)."""
        draw = self._random.random()
        config = self.config
        for fault, rate in (
            (Fault.TIMEOUT, config.timeout_rate),
            (Fault.ERROR, config.error_rate),
            (Fault.LOST_RESPONSE, config.lost_response_rate),
            (Fault.LATE_APPLY, config.late_apply_rate),
        ):
            if draw < rate:
                return fault
            draw -= rate
        every_call_late = config.late_apply_ms > 0 and config.late_apply_rate == 0
        return Fault.LATE_APPLY if every_call_late else Fault.NONE


class FaultInjector:
    """Runs mutating calls under the configured faults; owns the late-apply tasks."""

    def __init__(self) -> None:
        self.plan = FaultPlan()
        self._closing = asyncio.Event()
        self._late_tasks: set[asyncio.Task[None]] = set()

    @property
    def config(self) -> FaultConfig:
        """The current settings."""
        return self.plan.config

    def configure(self, config: FaultConfig) -> None:
        """Replace the settings and restart the seeded sequence."""
        self.plan = FaultPlan(config)
        logger.info("BOSS faults now %s", config)

    async def run(
        self, apply: Callable[[], _T], answer: Callable[[_T], web.Response]
    ) -> web.Response:
        """Apply and answer, or misbehave as the next fault says."""
        fault = self.plan.next_fault()
        latency_ms = self.config.latency_ms
        if latency_ms:
            await asyncio.sleep(latency_ms / 1000)
        if fault is Fault.NONE:
            return answer(apply())
        logger.info("BOSS fault injected: %s", fault.value)
        if fault is Fault.LOST_RESPONSE:
            apply()
        if fault in (Fault.TIMEOUT, Fault.LOST_RESPONSE):
            await self._hold()
        if fault is Fault.LATE_APPLY:
            self._apply_later(apply, self.config.late_apply_ms)
        return web.json_response({"error": "service unavailable"}, status=503)

    async def settle(self) -> None:
        """Wait until every late apply scheduled so far has happened (for tests and tools)."""
        await asyncio.gather(*self._late_tasks, return_exceptions=True)

    async def aclose(self) -> None:
        """Release held calls and drop late applies that have not happened yet."""
        self._closing.set()
        for task in self._late_tasks:
            task.cancel()
        await asyncio.gather(*self._late_tasks, return_exceptions=True)

    async def _hold(self) -> None:
        """Keep the connection open without answering, until the client or the server quits."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), FAULT_HOLD_MAX_S)

    def _apply_later(self, apply: Callable[[], object], delay_ms: int) -> None:
        async def late() -> None:
            await asyncio.sleep(delay_ms / 1000)
            try:
                apply()
            except Exception:
                logger.exception("BOSS late apply failed")

        task = asyncio.create_task(late())
        self._late_tasks.add(task)
        task.add_done_callback(self._late_tasks.discard)
