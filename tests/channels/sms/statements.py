"""SQL statements per MO through `aircharge bench sms`, counted in the platform process.

    .venv/bin/python -m tests.channels.sms.statements --rate 50 --duration 10

Runs the SMS bench as is, except that the platform worker is this module's `--worker` mode: the
bench's own worker with a `before_cursor_execute` listener on the platform engine, which writes
its counts (by statement head) to a file when the platform stops. Warm-up included: the figures
are statements over every MO sent (warm-up and run), MOs answered alongside.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

COUNTS_ENV = "AIRCHARGE_STATEMENT_COUNTS"


def _head(statement: str) -> str:
    text = re.sub(r"\s+", " ", statement).strip()
    return text[:60]


def _worker(argv: list[str]) -> None:
    from sqlalchemy import event

    import aircharge.bench.sms_worker as bench_worker
    from aircharge.platform import RunningPlatform, start_platform

    counts: Counter[str] = Counter()
    original = start_platform

    async def counted_start(config: Any) -> RunningPlatform:
        platform = await original(config)

        def count(*args: Any) -> None:
            statement, many = args[2], args[5]
            counts[_head(statement) + (" [many]" if many else "")] += 1

        def begin(_conn: Any) -> None:
            counts["BEGIN"] += 1

        event.listen(platform.engine.sync_engine, "before_cursor_execute", count)
        event.listen(platform.engine.sync_engine, "begin", begin)
        closing = platform.close

        async def close() -> None:
            await closing()
            text = json.dumps(counts)
            await asyncio.to_thread(Path(os.environ[COUNTS_ENV]).write_text, text)

        platform.close = close  # type: ignore[method-assign]
        return platform

    vars(bench_worker)["start_platform"] = counted_start
    bench_worker.main(argv)


async def _drive(rate: float, duration_s: float, merchants: int) -> None:
    from aircharge.bench.sms import run_sms_bench, warmup_s_default

    spawn = asyncio.create_subprocess_exec

    async def patched(program: str, *args: str, **kwargs: Any) -> asyncio.subprocess.Process:
        if "aircharge.bench.sms_worker" in args:
            args = ("-m", "tests.channels.sms.statements", "--worker", *args[2:])
        return await spawn(program, *args, **kwargs)

    asyncio.create_subprocess_exec = patched  # type: ignore[assignment]
    with tempfile.NamedTemporaryFile(suffix=".json") as file:
        os.environ[COUNTS_ENV] = file.name
        figures = await run_sms_bench(rate, duration_s, merchants)
        counts: dict[str, int] = json.loads(await asyncio.to_thread(Path(file.name).read_text))
    mos = figures.mo_sent + int(rate * warmup_s_default)
    total = sum(n for head, n in counts.items() if head != "BEGIN")
    print(f"offered {rate:.0f} MO/s; MOs {mos}; replies in the run {figures.replies}")
    print(f"statements {total} = {total / mos:.2f} per MO; transactions {counts.get('BEGIN', 0)}")
    for head, n in sorted(counts.items(), key=lambda item: -item[1]):
        print(f"{n:8d} {n / mos:6.2f}/MO  {head}")
    print(f"top-ups/s {figures.topups_per_s:.0f}", end="; ")
    print(f"p50/p99 ms {figures.p50_ms:.0f}/{figures.p99_ms:.0f}")
    print(f"CPU s {figures.cpu_s}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(prog="python -m tests.channels.sms.statements")
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--merchants", type=int, default=2_000)
    args = parser.parse_args()
    asyncio.run(_drive(args.rate, args.duration, args.merchants))


if __name__ == "__main__":
    main()
