"""Where a process's CPU goes during a benchmark run, summarised by component.

`CpuProfile` runs cProfile on the event loop's thread with a thread-CPU timer (so time the
loop spends idle in `epoll` counts for nothing) and, beside it, the whole process's CPU time,
so the work of other threads (the ledger's writer, the session store's thread, the database
drivers' threads), which cProfile does not see, is reported as one more line.

Each function's own time (not its callees') goes to a component by the file it lives in;
functions of no component (builtins, most of the standard library) give their time to the
components of their callers, in proportion to the time spent on each caller's behalf, up the
call graph.
"""

from __future__ import annotations

import cProfile
import pstats
import resource
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

# (component, path fragments): the first that matches a function's file wins.
COMPONENTS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    (
        "http (aiohttp, parsing, profile codecs)",
        (
            "/aiohttp/",
            "/multidict/",
            "/yarl/",
            "/channels/ussd/http.py",
            "/channels/ussd/profiles/",
            "/channels/ussd/signature.py",
            "/channels/ussd/protocol.py",
            "/urllib/",
            "/http/",
            "/email/",
        ),
    ),
    ("SMPP link and codec", ("/channels/smpp/",)),
    ("SMS channel", ("/channels/sms/", "/channels/counters.py")),
    ("number parsing (phonenumbers)", ("/phonenumbers/",)),
    ("dialog engine and render", ("/dialogs/",)),
    (
        "ussd service (turn logic)",
        (
            "/channels/ussd/service.py",
            "/channels/ussd/turn.py",
            "/channels/ussd/agents.py",
        ),
    ),
    ("session store", ("/channels/ussd/store.py", "/channels/ussd/_store_backends.py")),
    ("operations (ledger)", ("/ledger/",)),
    (
        "database drivers (SQLAlchemy, aiosqlite, asyncpg)",
        (
            "/sqlalchemy/",
            "/aiosqlite/",
            "/asyncpg/",
            "/sqlite3/",
        ),
    ),
    ("event loop (asyncio, selectors)", ("/asyncio/", "selectors.py", "'select.epoll'")),
    ("metrics, logging", ("/aircharge/metrics.py", "/logging/", "/prometheus_client/")),
    ("profiler itself", ("cProfile", "'_lsprof")),
)
OTHER: Final = "other (stdlib, builtins not attributed)"
THREADS: Final = "other threads (writers, store thread, driver threads)"

Func = tuple[str, int, str]
_depth_max: Final = 40  # callers followed up the graph at most


def _component(func: Func) -> str | None:
    where = f"{func[0]}:{func[2]}"
    for name, fragments in COMPONENTS:
        if any(fragment in where for fragment in fragments):
            return name
    return None


def _owners(raw: dict[Func, Any]) -> Callable[[Func], dict[str, float]]:
    """How a function's own time divides among components: its own component, else its
    callers' (by the time spent on their behalf), up the call graph."""
    memo: dict[Func, dict[str, float]] = {}

    def owners(func: Func, depth: int = 0) -> dict[str, float]:
        if func in memo:
            return memo[func]
        owner = _component(func)
        if owner is not None:
            return {owner: 1.0}
        memo[func] = {OTHER: 1.0}  # while being worked out: a cycle ends here
        callers = raw[func][4] if func in raw else {}
        spread = sum(v[2] for v in callers.values())
        if depth >= _depth_max or spread <= 0:
            return memo[func]
        share: dict[str, float] = {}
        for caller, v in callers.items():
            for name, part in owners(caller, depth + 1).items():
                share[name] = share.get(name, 0.0) + part * v[2] / spread
        memo[func] = share
        return share

    return owners


def summarise(stats: pstats.Stats, process_cpu_s: float) -> list[dict[str, Any]]:
    """Rows of {component, cpu_s, share}, largest first; the loop's thread from `stats`, the
    rest of `process_cpu_s` as the other threads' line."""
    raw: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    owners = _owners(raw)
    totals: dict[str, float] = {}
    for func, (_cc, _nc, tt, _ct, _callers) in raw.items():
        for name, part in owners(func).items():
            totals[name] = totals.get(name, 0.0) + tt * part
    loop_s = sum(totals.values())
    totals[THREADS] = max(0.0, process_cpu_s - loop_s)
    whole = sum(totals.values()) or 1.0
    rows = [
        {"component": name, "cpu_s": round(value, 3), "share": round(value / whole, 3)}
        for name, value in totals.items()
    ]
    return sorted(rows, key=lambda row: -row["cpu_s"])


def _process_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuProfile:
    """`start()` … `stop()` around a run; then `summary()` and `top(n)`."""

    def __init__(self) -> None:
        self._profile = cProfile.Profile(time.thread_time)
        self._cpu_s = 0.0
        self._wall_s = 0.0

    def start(self) -> None:
        self._cpu_s = -_process_cpu_s()
        self._wall_s = -time.perf_counter()
        self._profile.enable()

    def stop(self) -> None:
        self._profile.disable()
        self._cpu_s += _process_cpu_s()
        self._wall_s += time.perf_counter()

    def dump(self, path: str) -> None:
        """The raw profile, for `python -m pstats`."""
        self._profile.dump_stats(path)

    def summary(self) -> dict[str, Any]:
        stats = pstats.Stats(self._profile)
        return {
            "wall_s": round(self._wall_s, 3),
            "process_cpu_s": round(self._cpu_s, 3),
            "components": summarise(stats, self._cpu_s),
            "top_functions": self.top(stats, 15),
        }

    @staticmethod
    def top(stats: pstats.Stats, n: int) -> list[dict[str, Any]]:
        raw: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
        ranked = sorted(raw.items(), key=lambda item: -item[1][2])[:n]
        return [
            {"function": f"{f[0].rsplit('/', 2)[-1]}:{f[1]}({f[2]})", "own_s": round(v[2], 3)}
            for f, v in ranked
        ]


def table(summary: dict[str, Any]) -> str:
    lines: Sequence[str] = [
        f"  {row['component']:<52} {row['cpu_s']:>7.2f} s {row['share'] * 100:>5.1f} %"
        for row in summary["components"]
    ]
    head = f"  CPU {summary['process_cpu_s']:.2f} s over {summary['wall_s']:.2f} s wall"
    return "\n".join([head, *lines])
