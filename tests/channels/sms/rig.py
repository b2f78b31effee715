"""An SMS channel over a real database and the BOSS emulator, with an in-memory link."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from channels.sms.contract import InboundSms, OutboundSms, SubmitFailed, Submitted
from channels.sms.counters import SmsCounters
from channels.sms.notices import SmsNotices
from channels.sms.outbox import SmsOutbox
from channels.sms.sealed import SealedIntake
from channels.sms.service import SmsService, SmsSettings
from dialogs.catalogue import Catalogue
from dialogs.engine import Engine
from dialogs.flow import load_flows
from tests.ledger.conftest import World, open_world

MERCHANT = "8613800000003"


@dataclass
class Link:
    """An in-memory SmsTransport: records what is sent; `failures` answers first."""

    sent: list[OutboundSms] = field(default_factory=list)
    failures: list[SubmitFailed] = field(default_factory=list)
    attempts: int = 0
    ids: itertools.count[int] = field(default_factory=itertools.count)

    async def submit(self, message: OutboundSms) -> Submitted | SubmitFailed:
        self.attempts += 1
        if self.failures:
            return self.failures.pop(0)
        self.sent.append(message)
        return Submitted((f"m{next(self.ids)}",))

    def to(self, recipient: str) -> list[str]:
        return [m.text for m in self.sent if m.recipient == recipient]


@dataclass
class Clock:
    now_ms: int = 1_764_115_200_000

    def __call__(self) -> int:
        return self.now_ms


@dataclass
class Rig:
    service: SmsService
    outbox: SmsOutbox
    link: Link
    world: World
    clock: Clock
    counters: SmsCounters
    refs: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def mo(
        self, text: str, sender: str = MERCHANT, reference: int | None = None, ton: int = 1
    ) -> InboundSms:
        ref = next(self.refs) if reference is None else reference
        return InboundSms("smsc", sender, ton, "1888", text, ref, self.clock())

    async def send(self, text: str, sender: str = MERCHANT, reference: int | None = None) -> None:
        await self.service.accept(self.mo(text, sender, reference))
        await self.service.idle()


SETTINGS = SmsSettings(
    service_number="1888",
    duplicate_window_ms=600_000,
    confirm_ttl_ms=300_000,
    replies_per_day_max=30,
    short_code_digits_max=8,
    receipts=True,
)


@asynccontextmanager
async def open_rig(
    engine: AsyncEngine,
    settings: SmsSettings = SETTINGS,
    start: bool = True,
    sealed: SealedIntake | None = None,
) -> AsyncIterator[Rig]:
    link, clock, counters = Link(), Clock(), SmsCounters()
    catalogue = Catalogue.load()
    outbox = SmsOutbox(
        engine,
        link,
        clock_ms=clock,
        counters=counters,
        receipt_retention_ms=86_400_000,
        backoff_ms=(1, 4),
    )
    notices = SmsNotices(
        db=engine, outbox=outbox, catalogue=catalogue, default_language="zh-CN", receipts=True
    )
    async with open_world(engine, sms=notices) as world:
        service = SmsService(
            engine=Engine(load_flows()),
            catalogue=catalogue,
            operations=world.operations,
            db=engine,
            outbox=outbox,
            settings=settings,
            default_language="zh-CN",
            digest_key=b"test-digest",
            clock_ms=clock,
            counters=counters,
            sealed=sealed,
        )
        await outbox.start()
        if start:
            await service.start()
        try:
            yield Rig(service, outbox, link, world, clock, counters)
        finally:
            await service.close()
            await outbox.close()
