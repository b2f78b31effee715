"""The USSD channel's logic between the profiles and the engine: one neutral `UssdTurn` in,
one page out, whatever gateway (HTTP profile or SMPP) carried it.

A turn either starts a session (agents get the agent menu, everyone else the subscriber
menu), continues it with its inputs (only the latest, or cumulative like the Africa's
Talking `text`), closes it (abort), or repeats the last one (a gateway retry, by its retry
key: the stored reply is answered again and nothing runs twice). Operations the engine asks
for run through the ledger's service with an idempotency key of session, dial and input
count, so a retry racing the original cannot post twice either. A flow that ends after an
operation queues the actor's receipt by SMS (`channels.receipts`) before the last page is
answered: the page is gone a moment later, the SMS stays. PINs are turned into proofs
before a state is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Final

from channels.receipts import FlowNotifier, send_receipts
from channels.shielded import ShieldedWork
from channels.ussd.agents import AgentMenus
from channels.ussd.protocol import UssdRequest, new_inputs
from channels.ussd.store import StoredSession, UssdSessionStore, next_version
from channels.ussd.turn import UssdProtocolError, UssdTurn
from dialogs.catalogue import Catalogue
from dialogs.engine import Engine, SessionState, Step
from dialogs.events import End, Message, RunOperation
from dialogs.inputs import parse_msisdn
from dialogs.render.ussd import UssdPage, navigation, render_ussd
from ledger.money import Msisdn
from ledger.operations import OperationRequest, OperationService

log = logging.getLogger(__name__)

AGENT_FLOW: Final = "agent_main"
SUBSCRIBER_FLOW: Final = "subscriber_main"
CHANNEL: Final = "ussd"
operations_per_request_max: Final = 4  # an input leads to at most this many operations
turn_attempts_max: Final = 3  # a turn computed on a stale session is rerun at most this often
caller_numbers_max: Final = 65_536  # callers' numbers whose normal form is remembered

# The caller's number as the gateway wrote it -> E.164 (or None): a pure function that costs
# about 60 µs in phonenumbers, asked on every request of a session with the same string.
_caller_number = functools.lru_cache(maxsize=caller_numbers_max)(parse_msisdn)


class StaleSession(Exception):
    """The row moved on while a turn was computed from an older read (another process, or a
    retry racing its original, saved first): the turn is rerun on a fresh read."""


@dataclass(slots=True)
class _Context:
    """What a turn knows about the row it will write: its version when read (`seen`; None:
    no row), and whether that read came from the database in this turn (`checked`) rather
    than from the cache."""

    session_id: str
    seen: int | None
    checked: bool


def _operation_key(session_id: str, started_s: int | None, inputs: int, operation: str) -> str:
    """The idempotency key of an operation: the same dial, input and operation give the same
    key (a gateway retry), of a fixed length whatever the gateway's session ids. The dial's
    start time is part of it, so a session id used again for a new dial (SMPP sessions keyed
    by the subscriber's number) never replays the earlier dial's operations."""
    session = hashlib.sha256(f"{session_id}\0{started_s}".encode()).hexdigest()[:32]
    return f"{CHANNEL}:{session}:{inputs}:{operation}"


class UssdService:
    def __init__(
        self,
        *,
        engine: Engine,
        catalogue: Catalogue,
        operations: OperationService,
        store: UssdSessionStore,
        service_code: str,
        session_timeout_ms: int,
        default_language: str,
        digest_key: bytes,
        clock_ms: Callable[[], int],
        notifier: FlowNotifier | None = None,
    ) -> None:
        self._engine = engine
        self._notifier = notifier
        self._catalogue = catalogue
        self._operations = operations
        self._store = store
        self._service_code = service_code
        self._session_timeout_ms = session_timeout_ms
        self._default_language = default_language
        self._digest_key = digest_key
        self._clock_ms = clock_ms
        self._menus = AgentMenus(operations.find_agent, clock_ms)
        self._turns: dict[str, tuple[asyncio.Lock, int]] = {}  # session id -> lock, users
        self._operating = ShieldedWork()

    def _digest(self, turn: UssdTurn) -> str | None:
        if turn.retry_key is None:
            return None
        message = f"{turn.session_id}\0{turn.retry_key}".encode()
        return hmac.new(self._digest_key, message, hashlib.sha256).hexdigest()

    def _page(self, language: str, key: str) -> UssdPage:
        return UssdPage(self._catalogue.text(language, Message(key)), end=True)

    @property
    def operations_in_flight(self) -> int:
        return self._operating.in_flight

    async def drain(self) -> None:
        """Wait for the operations still running (their gateway may have gone): at shutdown,
        after the HTTP server and before the ledger stops."""
        await self._operating.drain()

    async def handle(self, request: UssdRequest) -> UssdPage:
        """One Africa's Talking callback (cumulative `text`): `handle_turn(request.turn())`."""
        return await self.handle_turn(request.turn())

    async def handle_turn(self, turn: UssdTurn) -> UssdPage:
        """One turn of a session, from any gateway profile; answers the page to show.

        A `begin` opens the session (again, when its id was used before and this is not a
        retry of that begin); a `continue` feeds its inputs; an `abort` stores the session
        as ended and answers an empty END. Raises UssdProtocolError for the gateway's
        mistakes (unknown service code, bad number, a session id of another number).

        The page is answered only once the session's new state is committed. A turn computed
        from a session the row has since moved past (see `StaleSession`) is rerun on a fresh
        read of the row.
        """
        if turn.service_code != self._service_code:
            raise UssdProtocolError(f"unknown serviceCode {turn.service_code!r}")
        parsed = _caller_number(turn.msisdn)
        if parsed is None:
            raise UssdProtocolError(f"phoneNumber {turn.msisdn!r} is not a number")
        msisdn = Msisdn(parsed)
        digest = self._digest(turn)
        async with self._one_at_a_time(turn.session_id):
            for attempt in range(turn_attempts_max):
                try:
                    return await self._attempt(turn, msisdn, digest, fresh=attempt > 0)
                except StaleSession:
                    log.info("ussd session %s: moved on meanwhile, turn rerun", turn.session_id)
                    self._store.forget(turn.session_id)
        raise RuntimeError(f"ussd session {turn.session_id}: stale {turn_attempts_max} times")

    @contextlib.asynccontextmanager
    async def _one_at_a_time(self, session_id: str) -> AsyncIterator[None]:
        """Turns of one session in this process run one after another: a gateway's retry
        racing its original here waits for it and is then answered from the stored page.
        (Across processes the conditional save and the operations' keys do that work.)"""
        lock, users = self._turns.get(session_id, (asyncio.Lock(), 0))
        self._turns[session_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._turns[session_id]
            if users == 1:
                del self._turns[session_id]
            else:
                self._turns[session_id] = (lock, users - 1)

    async def _read(self, turn: UssdTurn, fresh: bool) -> tuple[StoredSession | None, _Context]:
        """The session for this turn: the cached one when there is one, none for a `begin`
        of an id this process has not seen (its insert fails if the id is taken after all),
        otherwise (and on every rerun) the row as it is now."""
        if not fresh:
            cached = self._store.cached(turn.session_id)
            if cached is not None:
                return cached, _Context(turn.session_id, cached.updated_ms, checked=False)
            if turn.op == "begin":
                return None, _Context(turn.session_id, None, checked=False)
        stored = await self._store.load(turn.session_id)
        seen = None if stored is None else stored.updated_ms
        return stored, _Context(turn.session_id, seen, checked=True)

    async def _attempt(
        self, turn: UssdTurn, msisdn: Msisdn, digest: str | None, *, fresh: bool
    ) -> UssdPage:
        stored, ctx = await self._read(turn, fresh)
        if stored is None:
            if turn.op == "abort":  # nothing open to close
                return UssdPage("", end=True)
            return await self._start(turn, msisdn, digest, ctx)
        if stored.msisdn != msisdn:
            if not ctx.checked:
                raise StaleSession  # judge that on the row, not on a guess of it
            raise UssdProtocolError("sessionId belongs to another phoneNumber")
        if digest is not None and digest == stored.last_digest:
            await self._check(ctx)  # an answer that saves nothing must rest on the row
            log.info("ussd session %s: gateway retry, answering the stored page", stored.session_id)
            return UssdPage(stored.last_reply, end=stored.ended)
        if turn.op == "abort":
            return await self._abort(stored, digest, ctx)
        if turn.op == "begin":
            return await self._start(turn, msisdn, digest, ctx)
        language = stored.state.language
        if stored.ended:
            await self._check(ctx)
            return self._page(language, "common.session_expired")
        now_ms = self._clock_ms()
        if now_ms - stored.updated_ms > self._session_timeout_ms:
            page = self._page(language, "common.session_expired")
            await self._save(stored, stored.state, stored.consumed, digest, page, ctx)
            return page
        if turn.cumulative:
            inputs = new_inputs(turn.text, stored.consumed)
            consumed = max(len(turn.inputs), stored.consumed + 1)
        else:
            inputs = list(turn.inputs) or [""]
            consumed = stored.consumed + len(inputs)
        turned = self._turn_page(stored, inputs)
        if turned is not None:
            await self._save(stored, stored.state, consumed, digest, turned, ctx)
            return turned
        step = await self._feed(ctx, msisdn, stored.state, inputs)
        page = render_ussd(step.event, self._catalogue, step.state.language)
        await self._save(stored, step.state, consumed, digest, page, ctx)
        return page

    async def _abort(self, stored: StoredSession, digest: str | None, ctx: _Context) -> UssdPage:
        page = UssdPage("", end=True)
        if stored.ended:
            await self._check(ctx)
            return page
        log.info("ussd session %s: aborted by the gateway", stored.session_id)
        await self._save(stored, stored.state, stored.consumed, digest, page, ctx)
        return page

    def _turn_page(self, stored: StoredSession, inputs: list[str]) -> UssdPage | None:
        """`98`/`0` on a menu spread over pages moves between them; anywhere else they are
        ordinary input for the engine."""
        move = navigation(inputs[0]) if len(inputs) == 1 else None
        if move is None or stored.state.status != "input":
            return None
        screen = self._engine.screen(stored.state).event
        language = stored.state.language
        if render_ussd(screen, self._catalogue, language, stored.page).pages == 1:
            return None
        target = stored.page + (1 if move == "more" else -1)
        return render_ussd(screen, self._catalogue, language, target)

    async def _start(
        self,
        turn: UssdTurn,
        msisdn: Msisdn,
        digest: str | None,
        ctx: _Context,
    ) -> UssdPage:
        # The menu only: every operation authenticates its actor again (see AgentMenus).
        menu = await self._menus.menu(msisdn)
        if menu.agent:
            flow, language = AGENT_FLOW, menu.language
        else:  # a subscriber (BOSS holds their language: the default until it is asked)
            flow, language = SUBSCRIBER_FLOW, self._default_language
        step = self._engine.start(flow, language, self._clock_ms() // 1000)
        inputs = list(turn.inputs)  # a shortcut like *123*1# arrives as the input "1"
        step = await self._feed(ctx, msisdn, step.state, inputs, first=step)
        page = render_ussd(step.event, self._catalogue, step.state.language)
        session = StoredSession(
            session_id=turn.session_id,
            msisdn=msisdn,
            state=step.state,
            consumed=len(inputs),
            page=0,
            last_digest="",
            last_reply="",
            ended=False,
            updated_ms=0,
        )
        await self._save(session, step.state, len(inputs), digest, page, ctx)
        return page

    async def _feed(
        self,
        ctx: _Context,
        actor: Msisdn,
        state: SessionState,
        inputs: list[str],
        first: Step | None = None,
    ) -> Step:
        step = first
        for value in inputs:
            if state.status != "input":
                break
            seal = functools.partial(self._operations.protect_pin, actor)
            fed = self._engine.feed(state, value, seal, self._clock_ms() // 1000)
            step = await self._run_operations(ctx, actor, fed)
            state = step.state
        assert step is not None, "a continued session always brings at least one input"
        return step

    async def _check(self, ctx: _Context) -> None:
        """Before anything with an effect outside the row runs, and before an answer that
        saves nothing (so no conditional write would catch a stale read): is the session this
        turn computed from still the row's? (Only a cached read needs asking.)"""
        if ctx.checked:
            return
        if await self._store.version(ctx.session_id) != ctx.seen:
            raise StaleSession
        ctx.checked = True

    async def _run_operations(self, ctx: _Context, actor: Msisdn, step: Step) -> Step:
        session_id = ctx.session_id
        for _ in range(operations_per_request_max):
            if not isinstance(step.event, RunOperation):
                return step
            await self._check(ctx)
            key = _operation_key(
                session_id, step.state.started_s, step.state.inputs, step.event.name
            )
            operation = OperationRequest(
                name=step.event.name,
                actor=actor,
                params=step.event.params,
                key=key,
                channel=CHANNEL,
            )
            # Shielded: a gateway that hangs up does not stop an operation half-way, nor the
            # receipt it ends with.
            step = await self._operating.run(
                self._operate(session_id, actor, step.state, operation)
            )
        return Step(step.state, End(Message("common.service_unavailable")))

    async def _operate(
        self, session_id: str, actor: Msisdn, state: SessionState, operation: OperationRequest
    ) -> Step:
        outcome = await self._operations.execute(operation)
        log.info("ussd session %s: %s -> %s", session_id, operation.name, outcome.code)
        step = self._engine.resume(state, outcome.code, outcome.values)
        if isinstance(step.event, End):
            await send_receipts(self._notifier, actor, step.event, f"ussd session {session_id}")
        return step

    async def _save(
        self,
        stored: StoredSession,
        state: SessionState,
        consumed: int,
        digest: str | None,
        page: UssdPage,
        ctx: _Context,
    ) -> None:
        """Commit the turn's result; StaleSession when the row moved on since it was read."""
        session = replace(
            stored,
            state=state,
            consumed=consumed,
            last_digest=digest or "",
            last_reply=page.text,
            page=page.page,
            ended=page.end,
            updated_ms=next_version(self._clock_ms(), ctx.seen),
        )
        if not await self._store.save(session, self._service_code, seen=ctx.seen):
            raise StaleSession
