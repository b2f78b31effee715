"""The WAP channel's logic between HTTP and the engine: a request in, a screen out.

`start` opens a session (`GET /wap/`), `answer` takes a page's form (`POST /wap/`). Neither
knows HTTP: the transport (`channels.wap.http`) reads the caller (`channels.wap.identity`),
chooses WML or XHTML-MP and renders the `WapScreen` this module answers.

Identity. A caller a trusted gateway names (`Caller.msisdn`) gets the menu at once: agents
`agent_main` in their own language, everyone else `subscriber_main` (as on USSD). A caller
without one signs in: the first page asks the number; an agent is then asked the PIN, checked
by the ledger (`OperationService.check_pin`: wrong PINs count against the agent, which locks,
and against the source `wap@<peer>`, which is throttled). A number that is no agent's gets a
page saying subscriber services need the operator's network: subscribers have no PIN, a typed
number proves nothing, and a transfer started in a stranger's name would send its owner a
confirmation code one reply away from confirming it. Operations of signed-in
sessions carry the same origin, so the flows' own PIN prompts are throttled per source too.
A session is bound to its number: a trusted session is answered only with the same trusted
number, and a signed-in one never with a trusted header (of anyone).

Forms. Every page with a form carries a fresh one-time token (`channels.wap.store`); a POST
is taken only by spending it. Refused (unknown session, spent, expired, forged or another
session's token, another number) means nothing happens: the session is not touched, and the
page says so with a link to start again.

Operations run through `OperationService.execute` with the key
`wap:<session hash>:<inputs>:<operation>`, in a task shielded from the request (a browser
that goes away does not stop an operation half-way, nor its receipt); a flow that ends after
one queues the actor's receipt by SMS (`channels.receipts`). `drain` waits for them at
shutdown.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from channels.counters import Counters, Observer
from channels.receipts import FlowNotifier, send_receipts
from channels.shielded import ShieldedWork
from channels.ussd.agents import AgentMenus
from channels.wap.identity import Caller
from channels.wap.store import Stage, WapSession, WapStore, digest, new_secret, secret_chars_max
from dialogs.catalogue import Catalogue
from dialogs.engine import Engine, SessionState, Step
from dialogs.events import INPUTS, Ask, End, Message, RunOperation
from dialogs.inputs import parse_msisdn, parse_pin
from dialogs.render.wap import FormTarget, PageLink
from ledger.money import Msisdn
from ledger.operations import OperationRequest, OperationService

log = logging.getLogger(__name__)

CHANNEL: Final = "wap"
AGENT_FLOW: Final = "agent_main"
SUBSCRIBER_FLOW: Final = "subscriber_main"
WAP_PATH: Final = "/wap/"
SESSION_FIELD: Final = "session"  # the hidden field naming the session on every form
signin_attempts_max: Final = 3  # tries at the number, then at the PIN, in one session
operations_per_request_max: Final = 4  # an input leads to at most this many operations
input_chars_max: Final = 64  # what is fed to the engine of one answer at most

EVENTS: Final = (
    "session_started",
    "header_trusted",
    "header_untrusted",
    "header_invalid",
    "signin_ok",
    "signin_refused",
    "signin_subscriber_refused",
    "token_refused",
    "identity_refused",
    "session_expired",
    "operation",
    "receipt_queued",
    "page_wml",
    "page_xhtml",
    "bad_request",
    "failed",
)


def wap_counters(observer: Observer | None = None) -> Counters:
    return Counters(EVENTS, observer=observer)


@dataclass(frozen=True, slots=True)
class WapScreen:
    """What to show: an `Ask` with its form, or an `End` (with a link to start again)."""

    event: Ask | End
    language: str
    form: FormTarget | None
    link: PageLink | None
    status: int = 200


_AGAIN: Final = PageLink(WAP_PATH, Message("wap.again"))


def operation_key(session_hash: str, inputs: int, operation: str) -> str:
    return f"{CHANNEL}:{session_hash[:32]}:{inputs}:{operation}"


class WapService:
    def __init__(
        self,
        *,
        engine: Engine,
        catalogue: Catalogue,
        operations: OperationService,
        store: WapStore,
        session_timeout_ms: int,
        default_language: str,
        clock_ms: Callable[[], int],
        notifier: FlowNotifier | None = None,
        counters: Counters | None = None,
    ) -> None:
        assert session_timeout_ms > 0, session_timeout_ms
        self._engine = engine
        self._catalogue = catalogue
        self._operations = operations
        self._store = store
        self._timeout_ms = session_timeout_ms
        self.default_language = default_language
        self._clock_ms = clock_ms
        self._notifier = notifier
        self.counters = counters or wap_counters()
        self._menus = AgentMenus(operations.find_agent, clock_ms)
        self._operating = ShieldedWork()

    @property
    def operations_in_flight(self) -> int:
        return self._operating.in_flight

    async def drain(self) -> None:
        """Wait for the operations still running (their browser may have gone): at shutdown,
        after the HTTP server and before the ledger stops."""
        await self._operating.drain()

    # --- requests -------------------------------------------------------------------------

    async def start(self, caller: Caller) -> WapScreen:
        """A new session: the caller's menu when a trusted gateway named them, else sign-in."""
        self.counters.add("session_started")
        now_ms = self._clock_ms()
        session_id = new_secret()
        session = WapSession(
            session_hash=digest(session_id),
            msisdn=caller.msisdn,
            trusted=caller.msisdn is not None,
            stage="number",
            language=self.default_language,
            state=None,
            attempts=0,
            created_ms=now_ms,
            updated_ms=now_ms,
        )
        if caller.msisdn is None:
            log.info("wap session %s: started, signing in from %s", session.label, caller.peer)
            ask = Ask(Message("wap.ask_number"), input=INPUTS["msisdn"])
            return await self._save(session_id, session, ask, new=True)
        menu = await self._menus.menu(caller.msisdn)
        if menu.agent:
            flow, language = AGENT_FLOW, menu.language
        else:
            flow, language = SUBSCRIBER_FLOW, self.default_language
        log.info("wap session %s: started for %s (%s)", session.label, caller.msisdn, flow)
        session = replace(session, language=language)
        return await self._begin(session_id, session, caller, flow, new=True)

    async def answer(self, caller: Caller, session_id: str, token: str, value: str) -> WapScreen:
        """One POST: the answer `value` to the page whose form carried `token`."""
        language = self.default_language
        if not (0 < len(session_id) <= secret_chars_max and 0 < len(token) <= secret_chars_max):
            return self._refused(language, "token_refused", "wap.form_refused")
        session = await self._store.load(digest(session_id))
        if session is None:
            log.warning("wap: form for an unknown session from %s refused", caller.peer)
            return self._refused(language, "token_refused", "wap.form_refused")
        language = session.language
        if not self._same_caller(session, caller):
            log.warning(
                "wap session %s: answered from %s as %s, not its caller: refused",
                session.label,
                caller.peer,
                caller.msisdn or "an unnamed caller",
            )
            return self._refused(language, "identity_refused", "wap.session_other_number")
        now_ms = self._clock_ms()
        refusal = await self._store.spend(digest(token), session.session_hash, now_ms)
        if refusal == "expired":
            self.counters.add("session_expired")
            return self._end_screen(language, Message("wap.session_expired"), status=403)
        if refusal is not None:
            log.warning(
                "wap session %s: form token %s, from %s: refused",
                session.label,
                refusal,
                caller.peer,
            )
            return self._refused(language, "token_refused", "wap.form_refused")
        if session.stage == "ended" or now_ms - session.updated_ms > self._timeout_ms:
            self.counters.add("session_expired")  # (a token outlives no session: belt and braces)
            return self._end_screen(language, Message("wap.session_expired"), status=403)
        value = value[:input_chars_max]
        session = replace(session, updated_ms=now_ms)
        match session.stage:
            case "number":
                return await self._number(session_id, session, caller, value)
            case "pin":
                return await self._pin(session_id, session, caller, value)
            case _:
                return await self._dialog(session_id, session, caller, value)

    # --- identity -------------------------------------------------------------------------

    @staticmethod
    def _same_caller(session: WapSession, caller: Caller) -> bool:
        if session.trusted:
            return caller.msisdn is not None and caller.msisdn == session.msisdn
        return caller.msisdn is None

    async def _number(
        self, session_id: str, session: WapSession, caller: Caller, value: str
    ) -> WapScreen:
        typed = parse_msisdn(value)
        if typed is None:
            return await self._retry(
                session_id,
                session,
                Ask(
                    Message("wap.ask_number"),
                    input=INPUTS["msisdn"],
                    notice=Message("input.invalid.msisdn"),
                ),
            )
        msisdn = Msisdn(typed)
        session = replace(session, msisdn=msisdn, attempts=0)
        agent = await self._operations.find_agent(msisdn)
        if agent is None:
            # A typed number proves nothing, and subscribers have no PIN: their services need
            # the operator's gateway to name them (see the module docstring).
            log.info(
                "wap session %s: %s is no agent's number and no gateway named the caller "
                "(%s): subscriber services refused",
                session.label,
                msisdn,
                caller.peer,
            )
            self.counters.add("signin_subscriber_refused")
            ended = replace(session, stage="ended")
            return await self._save(
                session_id, ended, End(Message("wap.subscriber_needs_gateway")), new=False
            )
        session = replace(session, stage="pin", language=agent.language)
        ask = Ask(Message("wap.ask_pin"), input=INPUTS["pin"])
        return await self._save(session_id, session, ask, new=False)

    async def _pin(
        self, session_id: str, session: WapSession, caller: Caller, value: str
    ) -> WapScreen:
        assert session.msisdn is not None, "a session asks the PIN once it has the number"
        pin = parse_pin(value)
        if pin is None:
            ask = Ask(
                Message("wap.ask_pin"), input=INPUTS["pin"], notice=Message("input.invalid.pin")
            )
            return await self._retry(session_id, session, ask)
        outcome = await self._operations.check_pin(
            session.msisdn, pin, channel=CHANNEL, origin=caller.origin
        )
        if outcome.ok:
            log.info("wap session %s: agent %s signed in", session.label, session.msisdn)
            self.counters.add("signin_ok")
            return await self._begin(session_id, session, caller, AGENT_FLOW, new=False)
        self.counters.add("signin_refused")
        log.warning(
            "wap session %s: sign-in of %s from %s refused: %s",
            session.label,
            session.msisdn,
            caller.peer,
            outcome.code,
        )
        if outcome.code == "wrong_pin":
            notice = Message("wap.signin.wrong_pin", outcome.values)
            ask = Ask(Message("wap.ask_pin"), input=INPUTS["pin"], notice=notice)
            return await self._retry(session_id, session, ask)
        ended = replace(session, stage="ended")
        end = End(Message(f"outcome.{outcome.code}", outcome.values))
        return await self._save(session_id, ended, end, new=False)

    async def _retry(self, session_id: str, session: WapSession, ask: Ask) -> WapScreen:
        """The same sign-in page again with its notice, or the end after too many tries."""
        attempts = session.attempts + 1
        if attempts >= signin_attempts_max:
            ended = replace(session, stage="ended", attempts=attempts)
            end = End(Message("common.too_many_attempts"))
            return await self._save(session_id, ended, end, new=False)
        session = replace(session, attempts=attempts)
        return await self._save(session_id, session, ask, new=False)

    # --- the dialog -----------------------------------------------------------------------

    async def _begin(
        self, session_id: str, session: WapSession, caller: Caller, flow: str, *, new: bool
    ) -> WapScreen:
        step = self._engine.start(flow, session.language, self._clock_ms() // 1000)
        session = replace(session, stage="dialog")
        step = await self._run_operations(session, caller, step)
        return await self._save_step(session_id, session, step, new=new)

    async def _dialog(
        self, session_id: str, session: WapSession, caller: Caller, value: str
    ) -> WapScreen:
        state = session.state
        assert session.msisdn is not None, "a dialog has its caller"
        assert state is not None, "a dialog has its state"
        if state.status != "input":
            return self._end_screen(session.language, Message("wap.session_expired"))
        seal = functools.partial(self._operations.protect_pin, session.msisdn)
        step = self._engine.feed(state, value, seal, self._clock_ms() // 1000)
        step = await self._run_operations(session, caller, step)
        return await self._save_step(session_id, session, step, new=False)

    async def _run_operations(self, session: WapSession, caller: Caller, step: Step) -> Step:
        actor = session.msisdn
        assert actor is not None, "operations run for a known caller"
        for _ in range(operations_per_request_max):
            if not isinstance(step.event, RunOperation):
                return step
            operation = OperationRequest(
                name=step.event.name,
                actor=actor,
                params=step.event.params,
                key=operation_key(session.session_hash, step.state.inputs, step.event.name),
                channel=CHANNEL,
                origin="" if session.trusted else caller.origin,
            )
            # Shielded: a browser that goes away does not stop an operation half-way, nor the
            # receipt it ends with.
            step = await self._operating.run(self._operate(session, step.state, operation))
        return Step(step.state, End(Message("common.service_unavailable")))

    async def _operate(
        self, session: WapSession, state: SessionState, operation: OperationRequest
    ) -> Step:
        outcome = await self._operations.execute(operation)
        self.counters.add("operation")
        log.info("wap session %s: %s -> %s", session.label, operation.name, outcome.code)
        step = self._engine.resume(state, outcome.code, outcome.values)
        if isinstance(step.event, End):
            where = f"wap session {session.label}"
            queued = await send_receipts(self._notifier, operation.actor, step.event, where)
            self.counters.add("receipt_queued", queued)
        return step

    # --- answers --------------------------------------------------------------------------

    async def _save_step(
        self, session_id: str, session: WapSession, step: Step, *, new: bool
    ) -> WapScreen:
        event = step.event
        assert not isinstance(event, RunOperation), "operations run before a page is shown"
        stage: Stage = "ended" if isinstance(event, End) else "dialog"
        session = replace(session, stage=stage, state=step.state, language=step.state.language)
        return await self._save(session_id, session, event, new=new)

    async def _save(
        self, session_id: str, session: WapSession, event: Ask | End, *, new: bool
    ) -> WapScreen:
        """Store the session and its page's token; the screen to show."""
        if isinstance(event, End):
            await self._store.save(session, new=new, token_hash=None, expires_ms=0)
            return WapScreen(event, session.language, None, _AGAIN)
        token = new_secret()
        expires_ms = session.updated_ms + self._timeout_ms
        await self._store.save(session, new=new, token_hash=digest(token), expires_ms=expires_ms)
        form = FormTarget(WAP_PATH, token, {SESSION_FIELD: session_id})
        return WapScreen(event, session.language, form, None)

    def _end_screen(self, language: str, message: Message, status: int = 200) -> WapScreen:
        return WapScreen(End(message), language, None, _AGAIN, status)

    def _refused(self, language: str, event: str, key: str) -> WapScreen:
        self.counters.add(event)
        return self._end_screen(language, Message(key), status=403)


__all__ = [
    "CHANNEL",
    "EVENTS",
    "SESSION_FIELD",
    "WAP_PATH",
    "WapScreen",
    "WapService",
    "operation_key",
    "wap_counters",
]
