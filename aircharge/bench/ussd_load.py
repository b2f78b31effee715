"""The load generator of `aircharge bench ussd`, in a process of its own so that it does not
share the platform's core:

    python -m aircharge.bench.ussd_load --url URL --profile P --sessions N --duration S
                                        [--baseline]

N concurrent sessions each run the 5-request top-up journey (the dial, then 1, the number,
the amount, the PIN, and the confirmation: merchant 13800000003 tops up ¥1) through the
USSD gateway emulator, again and again until S seconds have passed. It prints one JSON
object: requests, journeys, failures and every request's latency in milliseconds. With
`--baseline` the pages are not checked (the server is a stub answering a fixed page).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any, Final

from simulator.ussd_gateway import UssdGatewayEmulator

MERCHANT: Final = "13800000003"
PIN: Final = "333333"
SUBSCRIBERS: Final = tuple(f"139000000{n:02d}" for n in range(1, 11))


class _Tally:
    def __init__(self) -> None:
        self.latencies_ms: list[float] = []
        self.journeys = 0
        self.failures: dict[str, int] = {}

    def fail(self, reason: str) -> None:
        self.failures[reason] = self.failures.get(reason, 0) + 1


async def _journey(gateway: UssdGatewayEmulator, tally: _Tally, n: int, check: bool) -> None:
    started = time.perf_counter()
    session = await gateway.dial(MERCHANT, "*123#")
    tally.latencies_ms.append((time.perf_counter() - started) * 1000)
    for value in ("1", SUBSCRIBERS[n % len(SUBSCRIBERS)], "1", PIN, "1"):
        started = time.perf_counter()
        page = await session.reply(value)
        tally.latencies_ms.append((time.perf_counter() - started) * 1000)
        if check and page.end and not page.text.startswith("充值成功"):
            tally.fail(page.text[:20])
            return
    if check and not (page.end and page.text.startswith("充值成功")):
        tally.fail(f"unexpected last page {page.text[:20]!r}")
        return
    tally.journeys += 1


async def _worker(
    gateway: UssdGatewayEmulator, tally: _Tally, deadline: float, first: int, check: bool
) -> None:
    n = first
    while time.perf_counter() < deadline:
        try:
            await _journey(gateway, tally, n, check)
        except Exception as exc:  # counted, not fatal: the report shows them
            tally.fail(type(exc).__name__)
        n += 1


async def run(
    url: str, profile: str, sessions: int, duration_s: float, check: bool
) -> dict[str, Any]:
    tally = _Tally()
    async with UssdGatewayEmulator(url, profile, connections_max=sessions) as gateway:
        started = time.perf_counter()
        deadline = started + duration_s
        await asyncio.gather(
            *(_worker(gateway, tally, deadline, i, check) for i in range(sessions))
        )
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "requests": len(tally.latencies_ms),
        "journeys": tally.journeys,
        "failures": tally.failures,
        "latencies_ms": [round(value, 3) for value in tally.latencies_ms],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m aircharge.bench.ussd_load")
    parser.add_argument("--url", required=True)
    parser.add_argument("--profile", default="africastalking")
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--baseline", action="store_true")
    args = parser.parse_args(argv)
    result = asyncio.run(
        run(args.url, args.profile, args.sessions, args.duration, not args.baseline)
    )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
