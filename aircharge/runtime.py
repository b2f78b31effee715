"""Process-wide tuning of the CPython runtime for a long-running platform process.

The cyclic garbage collector. By default it runs a young-generation pass every 700 net
container allocations, and every tenth of those also rescans everything that survived
once. A busy platform holds a large, long-lived heap (modules, SQLAlchemy metadata, the
dialog flows, the ledger writer's view of accounts) next to a stream of short-lived objects
(a request, its future, its task, its result): measured on `aircharge bench ledger`, those
passes took 0.07–0.12 s of a 0.75 s run, 10–15 % of the event loop's time. So, once the
process has started:

- what is alive then is moved out of the collector's sight (`gc.freeze`): it lives as long
  as the process, and rescanning it found nothing;
- the young generation is collected every `young_threshold` allocations instead of 700.
  Only objects in reference cycles wait for the collector at all (the rest are freed by
  reference counting at once), so memory grows by at most that many objects in between.

Measured: the collector's time in the same run fell to 0.006–0.009 s (docs/performance.md).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

young_threshold: Final = 10_000  # container allocations between young-generation passes


def settle_heap() -> None:
    """Call once start-up is done (in `serve` and `demo`, not in libraries or tests: what is
    frozen is never collected, so freezing a short-lived heap would keep its cycles)."""
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, young_threshold), middle, old)


@contextmanager
def settled_heap() -> Iterator[None]:
    """`settle_heap` for a stretch of work (a benchmark cell), then the collector as it was."""
    threshold = gc.get_threshold()
    settle_heap()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def clock_ms() -> int:
    """Wall-clock milliseconds since the epoch (UTC): what the channels' stores keep."""
    return time.time_ns() // 1_000_000


__all__ = ["clock_ms", "settle_heap", "settled_heap", "young_threshold"]
