"""The platform side of `aircharge bench chaos`, in a process of its own so that it can be
killed with SIGKILL at any moment:

    python -m aircharge.bench.chaos_worker --db FILE --boss-url URL --plan FILE --inbox FILE
                                           [--concurrency N] [--resolve]

It runs every request of the plan (JSON lines) through the operation service, all of them, in
every run: after a restart the ones done before answer as replays (same keys), so a restart
is just "run it again". A subscriber transfer is its request, the code from the inbox (the
SMS the subscriber would read: a file of `msisdn code` lines, appended by this process), then
its confirmation. After each BOSS call that answers `applied` it prints `APPLIED <ref>` and
waits a little before recording it, so a kill can land between "BOSS applied" and "posted".
The resolver runs all along, as on a platform; with `--resolve` the process only waits
until it has no case left, and prints `RESOLVED`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from aircharge.config import DatabaseConfig
from aircharge.database import create_engine
from ledger.gateways.boss import BossApplied, BossResult, BossStatusResult
from ledger.gateways.boss_http import HttpBossGateway
from ledger.limits import LimitDefaults
from ledger.money import Fen, Msisdn
from ledger.operations import OperationRequest, OperationService
from ledger.operations.contract import Value
from ledger.operations.resolver import ResolverPolicy
from ledger.pins import PinKeys

PIN_KEYS: Final = PinKeys.single(b"chaos-pin-key")
BOSS_TIMEOUT_MS: Final = 300
APPLIED_PAUSE_S: Final = 0.05  # the window a kill can land in, after BOSS applied
# Sales limits wide enough for thousands of sales by three agents in one day
LIMITS: Final = LimitDefaults(
    op_min_fen=100,
    op_max_fen=50_000,
    daily_amount_fen=10**12,
    daily_count=10**9,
    subscriber_daily_fen=10**12,
)
RESOLVER: Final = ResolverPolicy(
    interval_s=0.2, stale_after_s=1.0, backoff_base_s=0.1, backoff_max_s=0.5, lease_s=5.0
)


class AnnouncingBoss(HttpBossGateway):
    """The real HTTP gateway, saying when BOSS applied something and pausing before the
    platform records it."""

    async def _announce(self, result: BossResult) -> BossResult:
        if isinstance(result, BossApplied):
            print(f"APPLIED {result.ref}", flush=True)
            await asyncio.sleep(APPLIED_PAUSE_S)
        return result

    async def recharge(self, ref: str, msisdn: Msisdn, amount: Fen) -> BossResult:
        return await self._announce(await super().recharge(ref, msisdn, amount))

    async def billpay(self, ref: str, msisdn: Msisdn, amount: Fen) -> BossResult:
        return await self._announce(await super().billpay(ref, msisdn, amount))

    async def transfer(
        self, ref: str, from_msisdn: Msisdn, to_msisdn: Msisdn, amount: Fen
    ) -> BossResult:
        return await self._announce(await super().transfer(ref, from_msisdn, to_msisdn, amount))

    async def status(self, ref: str) -> BossStatusResult:
        return await super().status(ref)


class Inbox:
    """The codes the platform sends by SMS, written where a restarted run can read them."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.notices = 0

    async def send_code(self, msisdn: Msisdn, code: str) -> None:
        await asyncio.to_thread(self._append, f"{msisdn} {code}\n")

    async def notify(
        self,
        msisdn: Msisdn,
        notice: str,
        values: Mapping[str, Value],
        items: Sequence[Mapping[str, Value]] = (),
    ) -> None:
        """Notices are not what the chaos run checks: counted, not kept."""
        self.notices += 1

    def _append(self, line: str) -> None:
        with self._path.open("a", encoding="utf-8") as inbox:
            inbox.write(line)

    def latest(self, msisdn: str) -> str | None:
        if not self._path.exists():
            return None
        codes = [line.split() for line in self._path.read_text(encoding="utf-8").splitlines()]
        found = [code for number, code in codes if number == msisdn]
        return found[-1] if found else None


async def _run(args: argparse.Namespace) -> None:
    engine = create_engine(DatabaseConfig(url=f"sqlite+aiosqlite:///{args.db}"))
    gateway = AnnouncingBoss(args.boss_url, BOSS_TIMEOUT_MS)
    await gateway.start()
    inbox = Inbox(args.inbox)
    service = OperationService(engine, gateway, PIN_KEYS, LIMITS, resolver=RESOLVER, sms=inbox)
    await service.start()
    try:
        if args.resolve:
            await _resolve(service)
        else:
            await _requests(service, inbox, args.items, args.concurrency)
    finally:
        await service.close()
        await gateway.close()
        await engine.dispose()


async def _requests(
    service: OperationService, inbox: Inbox, items: list[dict[str, Any]], concurrency: int
) -> None:
    gate = asyncio.Semaphore(concurrency)
    senders: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)  # one code at a time each
    done = 0

    async def one(item: dict[str, Any]) -> None:
        nonlocal done
        async with gate:
            actor = Msisdn(item["actor"])
            if item["name"] == "transfer":
                async with senders[actor]:
                    await _transfer(service, inbox, item, actor)
            else:
                request = OperationRequest(
                    item["name"], actor, item["params"], item["key"], "bench"
                )
                await service.execute(request)
        done += 1
        if done % 100 == 0:
            print(f"PROGRESS {done}", flush=True)

    await asyncio.gather(*(one(item) for item in items))
    print("DONE", flush=True)


async def _transfer(
    service: OperationService, inbox: Inbox, item: dict[str, Any], actor: Msisdn
) -> None:
    ask = OperationRequest("transfer_request", actor, item["params"], f"{item['key']}:ask", "bench")
    if (await service.execute(ask)).code != "ok":
        return
    code = await asyncio.to_thread(inbox.latest, actor)
    if code is None:
        return
    confirm = OperationRequest(
        "transfer_confirm", actor, {"code": code}, f"{item['key']}:confirm", "bench"
    )
    await service.execute(confirm)


async def _resolve(service: OperationService) -> None:
    """Let the resolver (running in the background) work until nothing is left open."""
    quiet = 0
    while quiet < 3:  # three looks in a row with nothing open
        await asyncio.sleep(RESOLVER.interval_s * 2)
        quiet = quiet + 1 if await service.open_outcomes() == 0 else 0
    print("RESOLVED", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m aircharge.bench.chaos_worker")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--boss-url", required=True)
    parser.add_argument("--plan", type=Path)
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--resolve", action="store_true")
    args = parser.parse_args(argv)
    if not args.resolve and args.plan is None:
        sys.exit("chaos_worker: --plan is needed unless --resolve")
    plan = [] if args.plan is None else args.plan.read_text(encoding="utf-8").splitlines()
    args.items = [json.loads(line) for line in plan]
    asyncio.run(_run(args))


if __name__ == "__main__":
    main()
