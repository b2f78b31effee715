"""What stalls a platform process's event loop during a bench cell: the cyclic garbage
collector's passes (timed through `gc.callbacks`) and the loop's lag (how late a 10 ms sleep
wakes up). A tail in a latency table that the median does not explain often shows here."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Final

from aircharge.bench.stats import percentile

lag_probe_s: Final = 0.010


@dataclass
class Stalls:
    gc_passes: list[tuple[int, float]] = field(default_factory=list)  # (generation, ms)
    lag_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        full = [ms for generation, ms in self.gc_passes if generation == 2]
        lags = sorted(self.lag_ms)
        return {
            "gc_passes": len(self.gc_passes),
            "gc_full_passes": len(full),
            "gc_pause_max_ms": round(max((ms for _, ms in self.gc_passes), default=0.0), 1),
            "gc_full_pause_max_ms": round(max(full, default=0.0), 1),
            "loop_lag_p99_ms": round(percentile(lags, 0.99), 1) if lags else 0.0,
            "loop_lag_max_ms": round(lags[-1], 1) if lags else 0.0,
        }


@contextlib.asynccontextmanager
async def watched() -> AsyncIterator[Stalls]:
    """Record GC passes and loop lag in this process while the block runs."""
    stalls = Stalls()
    started = 0.0

    def on_gc(phase: str, info: dict[str, int]) -> None:
        nonlocal started
        if phase == "start":
            started = time.perf_counter()
        else:
            stalls.gc_passes.append((info["generation"], (time.perf_counter() - started) * 1000))

    async def probe() -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(lag_probe_s)
            stalls.lag_ms.append(max(0.0, (time.perf_counter() - asked - lag_probe_s) * 1000))

    gc.callbacks.append(on_gc)
    task = asyncio.create_task(probe())
    try:
        yield stalls
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        gc.callbacks.remove(on_gc)


__all__ = ["Stalls", "watched"]
