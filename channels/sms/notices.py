"""Notices and codes the ledger asks for (`ledger.operations.sms.SmsLink`), worded in the
recipient's language and queued through the outbox.

Language: an agent's own; anyone else's is the platform default (BOSS holds a subscriber's
language; asking it is future work). Read through `AgentLanguages` (up to 30 s old: a
language picks words, never money). A code's clear text goes to the outbox's memory only:
its row holds the text masked, and no log line carries it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from channels.sms.languages import AgentLanguages
from channels.sms.outbox import SmsOutbox
from channels.sms.records import MT_CODE, MT_NOTICE, Reply
from channels.sms.texts import code_text, masked, notice_text
from dialogs.catalogue import Catalogue
from dialogs.events import Message
from dialogs.grammar import pin_mask
from ledger.agents import find_agent
from ledger.money import Msisdn
from ledger.operations.contract import Value
from ledger.operations.sms import NOTICES

log = logging.getLogger(__name__)


class SmsNotices:
    def __init__(
        self,
        *,
        db: AsyncEngine,
        outbox: SmsOutbox,
        catalogue: Catalogue,
        default_language: str,
        receipts: bool,
    ) -> None:
        self._db = db
        self._outbox = outbox
        self._catalogue = catalogue
        self._default_language = default_language
        self._receipts = receipts
        self._languages = AgentLanguages(self._agent_language)

    async def _agent_language(self, msisdn: Msisdn) -> str | None:
        async with self._db.connect() as conn:
            agent = await find_agent(conn, msisdn)
        return None if agent is None else agent.language

    async def language_of(self, msisdn: Msisdn) -> str:
        language = await self._languages.agent_language(msisdn)
        return self._default_language if language is None else language

    async def send_code(self, msisdn: Msisdn, code: str) -> None:
        text = code_text(self._catalogue, await self.language_of(msisdn), code)
        stored = masked(text, code, pin_mask)
        reply = Reply(msisdn, text, stored, MT_CODE, self._receipts)
        mt_id = await self._outbox.queue(reply)
        log.info("sms code queued for %s as mt %d", msisdn, mt_id)

    async def send_message(self, msisdn: Msisdn, message: Message) -> None:
        """A flow's end notification (an IVR caller's receipt), in the recipient's language."""
        language = await self.language_of(msisdn)
        text = self._catalogue.text(language, message)
        mt_id = await self._outbox.queue(Reply(msisdn, text, text, MT_NOTICE, self._receipts))
        log.info("sms %s queued for %s as mt %d", message.key, msisdn, mt_id)

    async def notify(
        self,
        msisdn: Msisdn,
        notice: str,
        values: Mapping[str, Value],
        items: Sequence[Mapping[str, Value]] = (),
    ) -> None:
        assert notice in NOTICES, f"unknown notice {notice!r}"
        language = await self.language_of(msisdn)
        text = notice_text(self._catalogue, language, notice, values, items)
        mt_id = await self._outbox.queue(Reply(msisdn, text, text, MT_NOTICE, self._receipts))
        log.info("sms notice %s queued for %s as mt %d", notice, msisdn, mt_id)
