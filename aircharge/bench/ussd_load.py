"""The load generator of `aircharge bench ussd`, in a process of its own so that it does not
share the platform's core:

    python -m aircharge.bench.ussd_load --url URL --profile P --sessions N --duration S
                                        [--journey topup|menu] [--first K] [--baseline]

N concurrent sessions each run one journey through the USSD gateway emulator, again and
again until S seconds have passed:

- `topup`: the dial, then 1, the number, the amount, the PIN and the confirmation (6
  requests): merchant 13800000003 tops up ¥1;
- `menu`: the dial, 1, the number, the amount, then the user leaves (4 requests in the
  Africa's Talking form, which has no abort callback; 5 in the JSON form): menus only, no
  operation, so the session store's own ceiling shows.

It prints one JSON object: requests, journeys, failures and every request's latency in
milliseconds. With `--baseline` the pages are not checked (the server is a stub answering a
fixed page). `--first` offsets the subscriber numbers when several processes share a run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any, Final

from simulator.ussd_gateway import UssdGatewayEmulator
from simulator.ussd_gateway.emulator import Session

MERCHANT: Final = "13800000003"
PIN: Final = "333333"
SUBSCRIBERS: Final = tuple(f"139000000{n:02d}" for n in range(1, 11))
JOURNEYS: Final = ("topup", "menu")


class _Tally:
    def __init__(self) -> None:
        self.latencies_ms: list[float] = []
        self.journeys = 0
        self.failures: dict[str, int] = {}

    def fail(self, reason: str) -> None:
        self.failures[reason] = self.failures.get(reason, 0) + 1


async def _timed(tally: _Tally, step: Any) -> Any:
    started = time.perf_counter()
    result = await step
    tally.latencies_ms.append((time.perf_counter() - started) * 1000)
    return result


async def _topup(session: Session, tally: _Tally, number: str, check: bool) -> bool:
    for value in ("1", number, "1", PIN, "1"):
        page = await _timed(tally, session.reply(value))
        if check and page.end and not page.text.startswith("充值成功"):
            tally.fail(page.text[:20])
            return False
    if check and not (page.end and page.text.startswith("充值成功")):
        tally.fail(f"unexpected last page {page.text[:20]!r}")
        return False
    return True


async def _menu(session: Session, tally: _Tally, number: str, check: bool) -> bool:
    for value in ("1", number, "1"):
        page = await _timed(tally, session.reply(value))
        if check and page.end:
            tally.fail(page.text[:20])
            return False
    if session.gateway.profile == "json":  # the Africa's Talking form has no abort callback
        await _timed(tally, session.abort())
    else:
        await session.abort()
    return True


async def _journey(
    gateway: UssdGatewayEmulator, tally: _Tally, n: int, journey: str, check: bool
) -> None:
    session = await _timed(tally, gateway.dial(MERCHANT, "*123#"))
    number = SUBSCRIBERS[n % len(SUBSCRIBERS)]
    run = _topup if journey == "topup" else _menu
    if await run(session, tally, number, check):
        tally.journeys += 1


async def _worker(
    gateway: UssdGatewayEmulator,
    tally: _Tally,
    deadline: float,
    first: int,
    journey: str,
    check: bool,
) -> None:
    n = first
    while time.perf_counter() < deadline:
        try:
            await _journey(gateway, tally, n, journey, check)
        except Exception as exc:  # counted, not fatal: the report shows them
            tally.fail(type(exc).__name__)
        n += 1


async def run(
    url: str,
    profile: str,
    sessions: int,
    duration_s: float,
    check: bool,
    *,
    journey: str = "topup",
    first: int = 0,
) -> dict[str, Any]:
    assert journey in JOURNEYS, journey
    tally = _Tally()
    async with UssdGatewayEmulator(url, profile, connections_max=sessions) as gateway:
        started = time.perf_counter()
        deadline = started + duration_s
        await asyncio.gather(
            *(_worker(gateway, tally, deadline, first + i, journey, check) for i in range(sessions))
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
    parser.add_argument("--journey", choices=JOURNEYS, default="topup")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--baseline", action="store_true")
    args = parser.parse_args(argv)
    result = asyncio.run(
        run(
            args.url,
            args.profile,
            args.sessions,
            args.duration,
            not args.baseline,
            journey=args.journey,
            first=args.first,
        )
    )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
