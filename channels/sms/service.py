"""The SMS channel's service: MOs stored in batches, acknowledged, then processed.

`accept` parses the text (pure), masks PINs in what is stored and seals them in the stored
command, and returns once the batch holding the MO is committed; processing starts after, on
one of `processing_concurrency_max` workers, and `recover()` redoes what a crash interrupted.

Processing: the sender's flows (agents `agent_main` in their language, everyone else
`subscriber_main` in the platform default), the operations the engine asks for run through
`OperationService.execute` with key `sms:<mo id>:<n>:<operation>`, shielded from
cancellation; the reply is the final event rendered with `render_sms` (a history list is the
list itself), help for a parse error, `sms.unavailable` for a command no flow offers.

Duplicates, two kinds:
- a re-delivery (same link, sender, reference and text inside the window: the SMSC did not
  get our ack) is stored `ignored` and neither processed nor answered;
- a repeat of a command that moves money on its own (`WINDOWED_KINDS`: top-up, bill
  payment, allotment) whose earlier copy ran (or runs) inside the window is not run: the
  reply asks to confirm with `Y <code>`; that code from that sender within the TTL runs it
  once, under the confirming MO's own key. A wrong or expired code falls through to the flows
  (a subscriber's `Y` confirms a transfer). Help, balance, history and PIN changes move no
  money; a transfer is confirmed by its own code already.

No reply to short codes (at most `short_code_digits_max` digits) or alphanumeric senders:
their MOs are stored `ignored`. Replies per number and business day stop at
`replies_per_day_max` (counted in `replies_capped`). Flow notifications (`End.notifications`)
are not sent: over SMS the reply is the actor's receipt and the ledger's notices
(`SmsNotices`) tell the subscriber.

Sealed answers (the SIM applet's `STK1 …` SMS, `channels.sms.sealed`): when an intake is
given, such a text never reaches the grammar. The intake checks it before it is stored; an
opened one is stored with its masked plaintext and its command (PINs sealed), its SIM's
counter claimed in the same transaction, and processed like an SMS command from the SIM's
number, with operation keys `<origin>:<n>:<operation>` (origin `stk:<sim id>:<counter>`)
instead of the MO id's, and outside the duplicate window: every sealed answer carries a new
counter, sent by the SIM only after its confirm screen, so a repeat is a deliberate new
request, and a re-delivery of the same SMS is caught by its text and counter. A refused one is
stored `ignored` with the reason; an old counter from the SIM's own number is answered
(`sms.stk_old_counter`), through the same processing (reply cap, recovery), running nothing.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.sms.batcher import Batcher
from channels.sms.contract import TON_ALPHANUMERIC, InboundSms
from channels.sms.counters import SmsCounters
from channels.sms.languages import AgentLanguages
from channels.sms.outbox import SmsOutbox
from channels.sms.records import (
    DUPLICATE,
    HELP,
    MT_CODE,
    MT_REPLY,
    NO_REPLY,
    NOT_OURS,
    REDELIVERY,
    UNAVAILABLE,
    Finish,
    Finished,
    NewConfirmation,
    NewMo,
    Reply,
    SealedRefusal,
    StoredMo,
    decode_parsed,
    encode_parsed,
    encode_refusal,
    origin_of,
)
from channels.sms.sealed import Opened, SealedIntake
from channels.sms.store import (
    pending_mos,
    repeats_earlier,
    take_confirmation,
    write_finishes,
    write_mos,
)
from channels.sms.texts import HISTORY_NOTICE, masked, notice_text
from dialogs.catalogue import Catalogue
from dialogs.commands import Entered, Help, enter_parsed
from dialogs.engine import Engine, Step, is_secret
from dialogs.events import End, Message, RunOperation
from dialogs.grammar import Command, ParseError, mask_pins, parse_command, pin_mask
from dialogs.inputs import parse_msisdn
from dialogs.render.sms import render_sms, sms_help
from ledger.clock import business_day
from ledger.jobs import Jobs, open_jobs
from ledger.money import Msisdn
from ledger.operations import OperationRequest, OperationService
from ledger.sqlite import LoopReader

log = logging.getLogger(__name__)

AGENT_FLOW: Final = "agent_main"
SUBSCRIBER_FLOW: Final = "subscriber_main"
CHANNEL: Final = "sms"
WINDOWED_KINDS: Final = frozenset({"topup", "billpay", "allot"})
MONEY_KINDS: Final = frozenset({"topup", "billpay", "allot", "transfer", "confirm"})
operations_per_mo_max: Final = 4  # an MO leads to at most this many operations
processing_concurrency_max: Final = 64  # MOs processed at once
processing_queue_max: Final = 4_096  # stored MOs waiting for a worker (back-pressure on accept)
recover_page_max: Final = 500  # stored MOs read at a time on recovery
confirm_code_digits: Final = 6  # six digits: `mask_pins` hides them in stored MOs and logs


@dataclass(frozen=True, slots=True)
class SmsSettings:
    service_number: str
    duplicate_window_ms: int
    confirm_ttl_ms: int
    replies_per_day_max: int
    short_code_digits_max: int
    receipts: bool  # ask for delivery receipts (money replies, notices, codes; never help)


@dataclass(frozen=True, slots=True)
class _Answer:
    outcome: str
    text: str
    kind: str = MT_REPLY
    receipt: bool = False
    secret: str | None = None  # a code inside `text`, masked in the stored row
    confirmation: NewConfirmation | None = None


class SmsService:
    def __init__(
        self,
        *,
        engine: Engine,
        catalogue: Catalogue,
        operations: OperationService,
        db: AsyncEngine,
        outbox: SmsOutbox,
        settings: SmsSettings,
        default_language: str,
        digest_key: bytes,
        clock_ms: Callable[[], int],
        counters: SmsCounters,
        sealed: SealedIntake | None = None,
    ) -> None:
        self._engine = engine
        self._catalogue = catalogue
        self._operations = operations
        self._db = db
        self._outbox = outbox
        self._settings = settings
        self._default_language = default_language
        self._key = digest_key
        self._clock_ms = clock_ms
        self._counters = counters
        self._sealed = sealed
        window = settings.duplicate_window_ms
        claim = None if sealed is None else sealed.claim
        self._mos = Batcher(functools.partial(write_mos, window_ms=window, claim=claim), name="mo")
        self._finishes = Batcher(self._write_finishes, name="mo-finish")
        self._own_jobs: Jobs | None = None
        self._loop_reads = LoopReader.for_engine(db)
        self._languages = AgentLanguages(self._agent_language)
        self._work: asyncio.Queue[StoredMo] = asyncio.Queue(processing_queue_max)
        self._workers: list[asyncio.Task[None]] = []

    async def start(self, jobs: Jobs | None = None) -> None:
        """Start the workers; writes go through `jobs` (shared with the outbox by the
        composition root), or through jobs of the service's own."""
        if jobs is None:
            jobs = self._own_jobs = await open_jobs(self._db, "sms-writes")
        self._mos.start(jobs)
        self._finishes.start(jobs)
        self._workers = [
            asyncio.create_task(self._worker(), name=f"sms-mo-{n}")
            for n in range(processing_concurrency_max)
        ]

    async def close(self) -> None:
        """Stop taking work; MOs not processed yet stay `received` for `recover()`."""
        await self._mos.close()
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        await self._finishes.close()
        if self._own_jobs is not None:
            await self._own_jobs.close()
            self._own_jobs = None
        if self._loop_reads is not None:
            self._loop_reads.dispose()

    async def idle(self) -> None:
        """Wait until every MO accepted so far is processed and its reply handed over (tests)."""
        await self._work.join()
        await self._outbox.idle()

    # --- SmsReceiver ---------------------------------------------------------------------

    async def accept(self, message: InboundSms) -> None:
        if self._sealed is not None and self._sealed.is_sealed(message.text):
            new = await self._prepare_sealed(self._sealed, message)
        else:
            new = self._prepare(message)
        stored = await self._mos.submit(new)
        self._counters.add("mo_received")
        log.info(
            "sms mo %d from %s to %s: %s",
            stored.id,
            message.sender,
            message.recipient,
            new.masked_text,
        )
        if stored.outcome == REDELIVERY:
            self._counters.add("mo_redeliveries")
            log.info("sms mo %d: a re-delivery, not processed again", stored.id)
        elif stored.state == "ignored":
            self._counters.add("mo_ignored")
            if new.claim is not None and self._sealed is not None and stored.outcome:
                self._sealed.refused_late(new.claim, stored.outcome)
        if stored.state == "received":
            assert new.command is not None
            assert new.actor is not None
            mo = StoredMo(
                stored.id, new.actor, new.command, new.content_digest, message.received_ms
            )
            await self._work.put(mo)

    async def receipt(self, message_id: str, state: str, error: str | None) -> None:
        await self._outbox.receipt(message_id, state, error)

    async def recover(self) -> int:
        """Process MOs stored and not processed, send MTs queued and not submitted (a crash
        between the ack and the end). Call once at start, before links bind. How many MOs."""
        await self._outbox.recover()
        after, count = 0, 0
        while True:
            page = await pending_mos(self._db, after, recover_page_max)
            if not page:
                return count
            for mo in page:
                after = mo.id
                actor, _ = decode_parsed(mo.command)
                count += 1
                await self._work.put(
                    StoredMo(mo.id, actor, mo.command, mo.content_digest, mo.received_ms)
                )

    # --- accept: parse, mask, seal, digest -------------------------------------------------

    def _digest(self, purpose: str, *parts: str) -> str:
        message = "\0".join((purpose, *parts)).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def _reply_to(self, message: InboundSms) -> str | None:
        """The sender as E.164 digits when it is a number we answer; None otherwise."""
        sender = message.sender.strip()
        if message.sender_ton == TON_ALPHANUMERIC or not sender.lstrip("+").isdigit():
            return None
        if len(sender.lstrip("+")) <= self._settings.short_code_digits_max:
            return None
        return parse_msisdn(sender)

    def _prepare(self, message: InboundSms) -> NewMo:
        masked_text = mask_pins(message.text)
        delivery = None
        if message.reference is not None:
            parts = (message.link, message.sender, str(message.reference), message.text)
            delivery = self._digest("delivery:v1", *parts)
        actor = self._reply_to(message)
        ignored = None
        if not message.recipient.startswith(self._settings.service_number):
            ignored = NOT_OURS
        elif actor is None:
            ignored = NO_REPLY
        if ignored is not None or actor is None:
            return NewMo(message, masked_text, None, None, None, delivery, ignored)
        parsed = parse_command(message.text)
        content = None
        if isinstance(parsed, Command):
            seal = functools.partial(self._operations.protect_pin, Msisdn(actor))
            slots = {k: seal(str(v)) if is_secret(k) else v for k, v in parsed.slots.items()}
            plain = {k: v for k, v in parsed.slots.items() if not is_secret(k)}
            parsed = Command(parsed.kind, slots)
            if parsed.kind in WINDOWED_KINDS:
                body = json.dumps(plain, sort_keys=True)
                content = self._digest("content:v1", actor, parsed.kind, body)
        command = encode_parsed(actor, parsed)
        return NewMo(message, masked_text, command, actor, content, delivery, None)

    async def _prepare_sealed(self, sealed: SealedIntake, message: InboundSms) -> NewMo:
        """A sealed answer: opened and checked by the intake before it is stored."""
        actor = self._reply_to(message)
        if not message.recipient.startswith(self._settings.service_number):
            return NewMo(message, mask_pins(message.text), None, None, None, None, NOT_OURS)
        # The sender is part of it: a copy of the text from another number (refused) must not
        # make the SIM's own message look like its re-delivery.
        delivery = self._digest("sealed-delivery:v2", message.sender, message.text)
        result = await sealed.open(message, actor, delivery)
        if not isinstance(result, Opened):
            if result.answer and actor is not None:  # processed, to be answered; runs nothing
                command = encode_refusal(actor, result.reason)
                return NewMo(message, result.stored_text, command, actor, None, delivery, None)
            return NewMo(message, result.stored_text, None, None, None, delivery, result.reason)
        seal = functools.partial(self._operations.protect_pin, Msisdn(result.actor))
        slots = {k: seal(str(v)) if is_secret(k) else v for k, v in result.command.slots.items()}
        command = encode_parsed(
            result.actor, Command(result.command.kind, slots), origin=result.origin
        )
        return NewMo(
            message, result.stored_text, command, result.actor, None, delivery, None, result.claim
        )

    # --- processing -------------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            mo = await self._work.get()
            try:
                await self._process(mo)
            except asyncio.CancelledError:
                raise
            except Exception:  # the MO stays `received`: the next start's recover() retries
                log.exception("sms mo %d: processing failed", mo.id)
            finally:
                self._work.task_done()

    async def _process(self, mo: StoredMo) -> None:
        actor, parsed = decode_parsed(mo.command)
        answer = await self._answer(mo, Msisdn(actor), parsed)
        stored = (
            answer.text if answer.secret is None else masked(answer.text, answer.secret, pin_mask)
        )
        reply = Reply(actor, answer.text, stored, answer.kind, answer.receipt)
        finish = Finish(mo.id, answer.outcome, self._clock_ms(), reply, answer.confirmation)
        finished = await self._finishes.submit(finish)
        log.info("sms mo %d: %s", mo.id, answer.outcome)
        if finished.capped:
            self._counters.add("replies_capped")
            log.warning("sms mo %d: %s reached the daily reply cap, no reply", mo.id, actor)
        if finished.mt_id is not None:
            await self._outbox.send(finished.mt_id, reply)

    def _write_finishes(self, conn: Connection, items: Sequence[Finish]) -> list[Finished]:
        day = business_day(datetime.fromtimestamp(self._clock_ms() / 1000, UTC))
        return write_finishes(conn, items, day, self._settings.replies_per_day_max)

    async def _agent_language(self, actor: Msisdn) -> str | None:
        agent = await self._operations.find_agent(actor)
        return None if agent is None else agent.language

    async def _language(self, actor: Msisdn) -> tuple[list[str], str]:
        """The flows and language for the sender, from a cache up to 30 s old: they pick the
        menu and the words, never money (an operation authenticates its actor in the ledger)."""
        language = await self._languages.agent_language(actor)
        if language is not None:
            return [AGENT_FLOW], language
        return [SUBSCRIBER_FLOW], self._default_language

    async def _answer(
        self, mo: StoredMo, actor: Msisdn, parsed: Command | ParseError | SealedRefusal
    ) -> _Answer:
        flows, language = await self._language(actor)
        if isinstance(parsed, ParseError):
            return _Answer(HELP, sms_help(parsed, self._catalogue, language).text)
        if isinstance(parsed, SealedRefusal):  # `sms.stk_old_counter`, `sms.stk_bad_command`
            text = self._catalogue.text(language, Message(f"sms.{parsed.reason}"))
            return _Answer(parsed.reason, text)
        if parsed.kind == "confirm":
            confirmed = await self._confirmed(actor, str(parsed.slots["code"]))
            if confirmed is not None:
                self._counters.add("mo_confirmed")
                return await self._run(mo, actor, flows, language, confirmed)
        if mo.content_digest is not None and await repeats_earlier(
            self._db, self._loop_reads, mo, self._settings.duplicate_window_ms
        ):
            return self._duplicate(mo, actor, language)
        return await self._run(mo, actor, flows, language, parsed)

    async def _confirmed(self, actor: Msisdn, code: str) -> Command | None:
        code_hash = self._digest("code:v1", actor, code)
        command = await take_confirmation(self._db, actor, code_hash, self._clock_ms())
        if command is None:
            return None
        _, parsed = decode_parsed(command)
        assert isinstance(parsed, Command)
        return parsed

    def _duplicate(self, mo: StoredMo, actor: Msisdn, language: str) -> _Answer:
        self._counters.add("mo_duplicates")
        code = f"{secrets.randbelow(10**confirm_code_digits):0{confirm_code_digits}d}"
        params: dict[str, str | int] = {
            "code": code,
            "minutes": max(1, self._settings.duplicate_window_ms // 60_000),
            "ttl_minutes": max(1, self._settings.confirm_ttl_ms // 60_000),
        }
        text = self._catalogue.text(language, Message("sms.duplicate", params))
        confirmation = NewConfirmation(
            actor,
            self._digest("code:v1", actor, code),
            mo.command,
            self._clock_ms() + self._settings.confirm_ttl_ms,
        )
        return _Answer(DUPLICATE, text, MT_CODE, False, code, confirmation)

    async def _run(
        self, mo: StoredMo, actor: Msisdn, flows: list[str], language: str, command: Command
    ) -> _Answer:
        seal = functools.partial(self._operations.protect_pin, actor)
        entered = enter_parsed(self._engine, flows, command, language, seal)
        if isinstance(entered, Help):
            return _Answer(HELP, sms_help(entered.error, self._catalogue, language).text)
        if not isinstance(entered, Entered):
            key = "sms.code_invalid" if command.kind == "confirm" else "sms.unavailable"
            return _Answer(UNAVAILABLE, self._catalogue.text(language, Message(key)))
        receipt = self._settings.receipts and command.kind in MONEY_KINDS
        return await self._operate(mo, actor, entered.step, language, receipt)

    async def _operate(
        self, mo: StoredMo, actor: Msisdn, step: Step, language: str, receipt: bool
    ) -> _Answer:
        code = "ok"
        origin = origin_of(mo.command)
        prefix = f"{CHANNEL}:{mo.id}" if origin is None else origin
        channel = CHANNEL if origin is None else origin.partition(":")[0]
        for n in range(operations_per_mo_max):
            event = step.event
            if not isinstance(event, RunOperation):
                return _Answer(
                    code, render_sms(event, self._catalogue, language).text, receipt=receipt
                )
            request = OperationRequest(
                name=event.name,
                actor=actor,
                params=event.params,
                key=f"{prefix}:{n}:{event.name}",
                channel=channel,
            )
            # Shielded: a closing service does not stop an operation half-way.
            outcome = await asyncio.shield(self._operations.execute(request))
            code = outcome.code
            if event.name == "history" and outcome.ok:  # the list is the reply
                text = notice_text(
                    self._catalogue, language, HISTORY_NOTICE, outcome.values, outcome.items
                )
                return _Answer(code, text, receipt=receipt)
            step = self._engine.resume(step.state, outcome.code, outcome.values)
        end = End(Message("common.service_unavailable"))
        return _Answer(code, render_sms(end, self._catalogue, language).text, receipt=receipt)
