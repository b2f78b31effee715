"""Wiring of the SMS channel: the SMPP link(s), the outbox, the notices the ledger sends, and
the MO service, in the order they depend on each other.

1. `SmsWiring.build` makes the link (not connected yet), the outbox on it and the notices —
   the operations service needs the notices (`SmsLink`) before it starts;
2. `start` makes the MO service on the started operations, redoes what a crash interrupted
   (`recover`: MOs acknowledged but not processed, MTs queued but not sent), and only then
   connects the link, so no new MO arrives before the old ones are in hand; USSD over SMPP
   goes to the same `UssdService` as the HTTP gateways (on the SMS bind, and on the optional
   USSD centre bind); the SIM applet's sealed answers (`STK1 …`) go through the MO service's
   sealed intake, `channels.stk.gate.StkGate`;
3. `stop_intake` unbinds first (no new MO), then stops the MO service (what it had not
   processed stays `received` for the next start's `recover`); `close`, once the operations
   have stopped too (the resolver's last notices are queued), lets the outbox finish.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from aircharge.config import Config
from aircharge.metrics import Metrics
from aircharge.runtime import clock_ms
from channels.smpp.counters import SmppCounters
from channels.smpp.link import SmppLink
from channels.sms.counters import SmsCounters
from channels.sms.notices import SmsNotices
from channels.sms.outbox import SmsOutbox
from channels.sms.service import SmsService
from channels.stk.gate import StkCounters, StkGate
from channels.stk.sims import SimKeyRing
from channels.ussd.over_smpp import UssdOverSmpp
from channels.ussd.service import UssdService
from dialogs.catalogue import Catalogue
from dialogs.engine import Engine
from dialogs.events import Message
from ledger.jobs import Jobs, open_jobs
from ledger.operations import OperationService


@dataclass
class SmsWiring:
    config: Config
    engine: AsyncEngine
    catalogue: Catalogue
    link: SmppLink
    outbox: SmsOutbox
    notices: SmsNotices
    counters: SmsCounters
    stk_counters: StkCounters
    ussd_link: SmppLink | None = None
    service: SmsService | None = None
    _started: list[SmppLink] = field(default_factory=list)
    _jobs: Jobs | None = None

    @classmethod
    def build(
        cls, config: Config, engine: AsyncEngine, catalogue: Catalogue, metrics: Metrics
    ) -> SmsWiring:
        secrets, smpp = config.secrets, config.smpp
        source = config.sms.service_number
        link = SmppLink(
            smpp.link_settings(secrets.smpp_password, source_addr=source),
            counters=SmppCounters(metrics.smpp_observer(smpp.link)),
        )
        ussd_settings = smpp.ussd_link_settings(secrets.smpp_ussd_password, source_addr=source)
        ussd_link = None
        if ussd_settings is not None:
            observer = metrics.smpp_observer(ussd_settings.name)
            ussd_link = SmppLink(ussd_settings, counters=SmppCounters(observer))
        counters = SmsCounters(metrics.observe_sms)
        outbox = SmsOutbox(
            engine,
            link,
            clock_ms=clock_ms,
            counters=counters,
            receipt_retention_ms=config.sms.receipt_retention_s * 1000,
        )
        notices = SmsNotices(
            db=engine,
            outbox=outbox,
            catalogue=catalogue,
            default_language=config.platform.language,
            receipts=config.sms.receipts,
        )
        stk_counters = StkCounters(metrics.observe_stk)
        return cls(
            config, engine, catalogue, link, outbox, notices, counters, stk_counters, ussd_link
        )

    async def start(self, dialogs: Engine, operations: OperationService, ussd: UssdService) -> None:
        config = self.config
        self.service = SmsService(
            engine=dialogs,
            catalogue=self.catalogue,
            operations=operations,
            db=self.engine,
            outbox=self.outbox,
            settings=config.sms.settings(),
            default_language=config.platform.language,
            digest_key=b"sms-digest:" + config.secrets.pin_key.encode(),
            clock_ms=clock_ms,
            counters=self.counters,
            sealed=StkGate(
                db=self.engine,
                ring=SimKeyRing(config.secrets.pin_keys()),
                counters=self.stk_counters,
            ),
        )
        # One writer thread (on SQLite) for all of the channel's batched writes.
        self._jobs = await open_jobs(self.engine, "sms-writes")
        await self.outbox.start(self._jobs)
        await self.service.start(self._jobs)
        await self.service.recover()  # the outbox's too
        unavailable = self.catalogue.text(
            config.platform.language, Message("common.service_unavailable")
        )
        bridge = UssdOverSmpp(ussd, unavailable)
        for link in (self.link, self.ussd_link):
            if link is None:
                continue
            link.receiver, link.ussd = self.service, bridge
            await link.start()
            self._started.append(link)

    async def stop_intake(self) -> None:
        for link in reversed(self._started):
            await link.close()
        self._started.clear()
        if self.service is not None:
            await self.service.close()
            self.service = None

    async def close(self) -> None:
        await self.stop_intake()
        await self.outbox.close()
        if self._jobs is not None:
            await self._jobs.close()
            self._jobs = None


__all__ = ["SmsWiring"]
