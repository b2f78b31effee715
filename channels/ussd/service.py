"""The USSD channel's logic between the profiles and the engine: one neutral `UssdTurn` in,
one page out, whatever gateway (HTTP profile or SMPP) carried it.

A turn either starts a session (agents get the agent menu, everyone else the subscriber
menu), continues it with its inputs (only the latest, or cumulative like the Africa's
Talking `text`), closes it (abort), or repeats the last one (a gateway retry, by its retry
key: the stored reply is answered again and nothing runs twice). Operations the engine asks
for run through the ledger's service with an idempotency key of session, dial and input
count, so a retry racing the original cannot post twice either. PINs are turned into proofs
before a state is stored.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Final

from channels.ussd.protocol import UssdRequest, new_inputs
from channels.ussd.store import StoredSession, UssdSessionStore
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
    ) -> None:
        self._engine = engine
        self._catalogue = catalogue
        self._operations = operations
        self._store = store
        self._service_code = service_code
        self._session_timeout_ms = session_timeout_ms
        self._default_language = default_language
        self._digest_key = digest_key
        self._clock_ms = clock_ms

    def _digest(self, turn: UssdTurn) -> str | None:
        if turn.retry_key is None:
            return None
        message = f"{turn.session_id}\0{turn.retry_key}".encode()
        return hmac.new(self._digest_key, message, hashlib.sha256).hexdigest()

    def _page(self, language: str, key: str) -> UssdPage:
        return UssdPage(self._catalogue.text(language, Message(key)), end=True)

    async def handle(self, request: UssdRequest) -> UssdPage:
        """One Africa's Talking callback (cumulative `text`): `handle_turn(request.turn())`."""
        return await self.handle_turn(request.turn())

    async def handle_turn(self, turn: UssdTurn) -> UssdPage:
        """One turn of a session, from any gateway profile; answers the page to show.

        A `begin` opens the session (again, when its id was used before and this is not a
        retry of that begin); a `continue` feeds its inputs; an `abort` stores the session
        as ended and answers an empty END. Raises UssdProtocolError for the gateway's
        mistakes (unknown service code, bad number, a session id of another number).
        """
        if turn.service_code != self._service_code:
            raise UssdProtocolError(f"unknown serviceCode {turn.service_code!r}")
        parsed = parse_msisdn(turn.msisdn)
        if parsed is None:
            raise UssdProtocolError(f"phoneNumber {turn.msisdn!r} is not a number")
        msisdn = Msisdn(parsed)
        stored = await self._store.load(turn.session_id)
        digest = self._digest(turn)
        if stored is None:
            if turn.op == "abort":  # nothing open to close
                return UssdPage("", end=True)
            return await self._start(turn, msisdn, digest, previous=None)
        if stored.msisdn != msisdn:
            raise UssdProtocolError("sessionId belongs to another phoneNumber")
        if digest is not None and digest == stored.last_digest:
            log.info("ussd session %s: gateway retry, answering the stored page", stored.session_id)
            return UssdPage(stored.last_reply, end=stored.ended)
        if turn.op == "abort":
            return await self._abort(stored, digest)
        if turn.op == "begin":
            return await self._start(turn, msisdn, digest, previous=stored)
        language = stored.state.language
        if stored.ended:
            return self._page(language, "common.session_expired")
        now_ms = self._clock_ms()
        if now_ms - stored.updated_ms > self._session_timeout_ms:
            page = self._page(language, "common.session_expired")
            await self._save(stored, stored.state, stored.consumed, digest, page, new=False)
            return page
        if turn.cumulative:
            inputs = new_inputs(turn.text, stored.consumed)
            consumed = max(len(turn.inputs), stored.consumed + 1)
        else:
            inputs = list(turn.inputs) or [""]
            consumed = stored.consumed + len(inputs)
        turned = self._turn_page(stored, inputs)
        if turned is not None:
            await self._save(stored, stored.state, consumed, digest, turned, new=False)
            return turned
        step = await self._feed(turn.session_id, msisdn, stored.state, inputs)
        page = render_ussd(step.event, self._catalogue, step.state.language)
        await self._save(stored, step.state, consumed, digest, page, new=False)
        return page

    async def _abort(self, stored: StoredSession, digest: str | None) -> UssdPage:
        page = UssdPage("", end=True)
        if stored.ended:
            return page
        log.info("ussd session %s: aborted by the gateway", stored.session_id)
        await self._save(stored, stored.state, stored.consumed, digest, page, new=False)
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
        self, turn: UssdTurn, msisdn: Msisdn, digest: str | None, previous: StoredSession | None
    ) -> UssdPage:
        agent = await self._operations.find_agent(msisdn)
        if agent is not None:
            flow, language = AGENT_FLOW, agent.language
        else:  # a subscriber (BOSS holds their language: the default until it is asked)
            flow, language = SUBSCRIBER_FLOW, self._default_language
        step = self._engine.start(flow, language, self._clock_ms() // 1000)
        inputs = list(turn.inputs)  # a shortcut like *123*1# arrives as the input "1"
        step = await self._feed(turn.session_id, msisdn, step.state, inputs, first=step)
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
        new = previous is None
        await self._save(session, step.state, len(inputs), digest, page, new=new)
        return page

    async def _feed(
        self,
        session_id: str,
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
            step = await self._run_operations(session_id, actor, fed)
            state = step.state
        assert step is not None, "a continued session always brings at least one input"
        return step

    async def _run_operations(self, session_id: str, actor: Msisdn, step: Step) -> Step:
        for _ in range(operations_per_request_max):
            if not isinstance(step.event, RunOperation):
                return step
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
            # Shielded: a gateway that hangs up does not stop an operation half-way.
            outcome = await asyncio.shield(self._operations.execute(operation))
            log.info("ussd session %s: %s -> %s", session_id, operation.name, outcome.code)
            step = self._engine.resume(step.state, outcome.code, outcome.values)
        return Step(step.state, End(Message("common.service_unavailable")))

    async def _save(
        self,
        stored: StoredSession,
        state: SessionState,
        consumed: int,
        digest: str | None,
        page: UssdPage,
        *,
        new: bool,
    ) -> None:
        session = replace(
            stored,
            state=state,
            consumed=consumed,
            last_digest=digest or "",
            last_reply=page.text,
            page=page.page,
            ended=page.end,
            updated_ms=self._clock_ms(),
        )
        await self._store.save(session, self._service_code, new=new)
